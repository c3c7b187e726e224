"""User objectives for the sweep benchmark, given to ``calib run`` the way a user gives theirs.

``rosen10`` is the 10-d Rosenbrock function shifted by the dataset: the data have one column,
``offset``, with one row per parameter, and the objective is ``rosen(x - offset)`` (minimum 0 at
``x = 1 + offset``). It has no gradient, so the solvers use finite differences (11 evaluations
per gradient). ``rosen10_batch`` is its vectorised twin (``[model].vectorized``): a ``(k, 10)``
batch in, ``(k,)`` out, each row computed on its own.

Spec::

    [model]
    objective = "benchmarks.objectives:rosen10"
    vectorized = "benchmarks.objectives:rosen10_batch"
    kind = "sse"
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["ROSEN_DIMENSION", "rosen10", "rosen10_batch"]

FloatArray = npt.NDArray[np.float64]

#: parameters of `rosen10` (and rows of its dataset)
ROSEN_DIMENSION = 10


def rosen10(params: FloatArray, data: FloatArray) -> float:
    """Rosenbrock function of ``params - data[:, 0]`` (dimensionless, >= 0).

    Parameters
    ----------
    params : ndarray, shape (10,)
    data : ndarray, shape (10, 1)
        Column ``offset``: the shift of the minimum from ``(1, ..., 1)``.
    """
    y = params - data[:, 0]
    return float(np.sum(100.0 * (y[1:] - y[:-1] ** 2) ** 2 + (1.0 - y[:-1]) ** 2))


def rosen10_batch(params: FloatArray, data: FloatArray) -> FloatArray:
    """`rosen10` of every row of ``params`` (shape (k, 10)); returns shape (k,)."""
    y = params - data[:, 0]
    return np.sum(100.0 * (y[:, 1:] - y[:, :-1] ** 2) ** 2 + (1.0 - y[:, :-1]) ** 2, axis=1)
