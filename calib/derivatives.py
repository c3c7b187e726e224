"""Finite-difference derivatives for the solver methods that refuse to run without them.

Newton-CG, dogleg and the trust-region family need a gradient (and dogleg / trust-exact a
Hessian) as callables, as scipy's do.  Calibration objectives come without derivatives, so a
sweep that names such a method gets central-difference ones from here, computed by the
solvers' finite-difference routine (`solvers.approx_jacobian`, the one the methods use): the
gradient costs ``2 p`` objective evaluations (step ``eps**(1/3) max(1, |x|)``), the Hessian
``4 p**2`` (central differences of that gradient, step ``eps**(1/4) max(1, |x|)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from solvers import MethodSpec, approx_gradient, approx_jacobian

__all__ = ["central_gradient", "central_hessian", "derivatives_for"]

FloatArray = npt.NDArray[np.float64]
_GRADIENT_STEP = np.finfo(float).eps ** (1.0 / 3.0)
_HESSIAN_STEP = np.finfo(float).eps ** 0.25


def _steps(x: FloatArray, relative: float) -> FloatArray:
    return relative * np.maximum(1.0, np.abs(x))


def central_gradient(fun: Callable[[FloatArray], object], x: FloatArray) -> FloatArray:
    """Central-difference gradient of ``fun`` at ``x``, shape (p,)."""
    x = np.asarray(x, dtype=float)
    return approx_gradient(fun, x, method="3-point", abs_step=_steps(x, _GRADIENT_STEP))


def central_hessian(fun: Callable[[FloatArray], object], x: FloatArray) -> FloatArray:
    """Symmetric Hessian of ``fun`` at ``x`` by central differences of `central_gradient`, (p, p)."""
    x = np.asarray(x, dtype=float)
    hess = approx_jacobian(lambda u: central_gradient(fun, u), x, method="3-point",
                           abs_step=_steps(x, _HESSIAN_STEP))
    return 0.5 * (hess + hess.T)


def derivatives_for(spec: MethodSpec, fun: Callable[[FloatArray], object]) -> dict[str, Any]:
    """``jac``/``hess`` keyword arguments a method requires (`MethodSpec.requires`), or {}."""
    out: dict[str, Any] = {}
    if "jac" in spec.requires:
        out["jac"] = lambda x: central_gradient(fun, x)
    if "hess" in spec.requires:
        out["hess"] = lambda x: central_hessian(fun, x)
    elif "hess_or_hessp" in spec.requires:
        out["hess"] = "2-point"  # differences of the gradient above, taken by the solver
    return out
