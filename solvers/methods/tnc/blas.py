"""Dot products and norms summed exactly as TNC's reference C code sums them.

TNC takes Hessian-vector products by differencing gradients a step ``~1e-8`` apart, so a
rounding difference of one unit in an iterate changes the next direction in its eighth digit.
To follow the reference iterates closely these helpers reproduce its arithmetic: a dot product
summed left to right without fused multiply-adds (``np.dot`` may use BLAS kernels that do
neither), and the overflow-safe scaled 2-norm of the reference BLAS ``dnrm2``.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["ddot", "dnrm2"]

FloatArray = npt.NDArray[np.float64]


_SHORT = 8  # below this length a Python loop is faster than a numpy call
_accumulate = np.add.accumulate


def ddot(a: FloatArray, b: FloatArray) -> float:
    """``sum(a[i] * b[i])`` accumulated left to right (products rounded first)."""
    if a.size <= _SHORT:
        total = 0.0
        for x, y in zip(a.tolist(), b.tolist()):
            total += x * y
        return total
    return float(_accumulate(a * b)[-1])


def dnrm2(v: FloatArray) -> float:
    """Euclidean norm by the scaled sum of squares of the reference BLAS (no overflow)."""
    scale = 0.0
    ssq = 1.0
    for value in v.tolist():
        if value != 0.0:
            absxi = abs(value)
            if scale < absxi:
                ratio = scale / absxi
                ssq = 1.0 + ssq * ratio * ratio
                scale = absxi
            else:
                ratio = absxi / scale
                ssq += ratio * ratio
    return scale * math.sqrt(ssq)
