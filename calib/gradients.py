"""User gradients: the solver keyword arguments they give, and the plan-time check of one.

A user objective may come with ``gradient(params (p,), data) -> (p,)`` in natural units (and a
vectorised twin ``(k, p) -> (k, p)``); `calib.Problem.internal_gradient` turns it into the
gradient the solver sees (log-scale parameters through the chain rule, fixed ones dropped by
`calib.fixed.FixedGradient`).  `analytic_derivatives` gives the ``jac`` (and, where a method
requires one, ``hess``) arguments for a method that takes ``jac``; `check_gradient` evaluates
the gradient once (shape, finiteness) so that a wrong one fails before a sweep starts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError
from solvers import MethodSpec, approx_jacobian

__all__ = ["analytic_derivatives", "check_gradient", "GradientError"]

FloatArray = npt.NDArray[np.float64]
_HESSIAN_STEP = np.finfo(float).eps ** 0.5


class GradientError(ProblemError):
    """A user gradient that raises, or returns the wrong shape or a non-finite value, at its
    first check.  ``what`` names the gradient, ``problem`` says what is wrong with it (the
    message is ``f"{what} {problem}"``)."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(f"{what} {problem}")
        self.what = what
        self.problem = problem


def analytic_derivatives(spec: MethodSpec,
                         gradient: Callable[[FloatArray], FloatArray]) -> dict[str, Any]:
    """``jac`` (and ``hess`` where ``spec`` requires one) keyword arguments from ``gradient``.

    ``gradient(z (p,)) -> (p,)`` is the internal-space gradient.  A method that does not take
    ``jac`` (Nelder-Mead, Powell, COBYLA...) gets {}.  A method requiring a Hessian callable
    (dogleg, trust-exact) gets forward differences of ``gradient`` (``p`` gradient calls, step
    ``sqrt(eps) max(1, |z|)``), symmetrised; one accepting a finite-difference Hessian
    (Newton-CG, trust-ncg, trust-krylov) gets ``'2-point'`` (differences of ``gradient``,
    taken by the solver).
    """
    if not spec.uses_jac:
        return {}
    out: dict[str, Any] = {"jac": gradient}
    if "hess" in spec.requires:
        out["hess"] = lambda z: _forward_hessian(gradient, z)
    elif "hess_or_hessp" in spec.requires:
        out["hess"] = "2-point"
    return out


def _forward_hessian(gradient: Callable[[FloatArray], FloatArray], z: FloatArray) -> FloatArray:
    z = np.asarray(z, dtype=np.float64)
    hess = approx_jacobian(gradient, z, method="2-point",
                           abs_step=_HESSIAN_STEP * np.maximum(1.0, np.abs(z)))
    return np.asarray(0.5 * (hess + hess.T), dtype=np.float64)


def check_gradient(gradient: Callable[[FloatArray, FloatArray], Any], x: FloatArray,
                   data: FloatArray, *, batched: bool = False) -> None:
    """Evaluate a user ``gradient`` once at ``x`` and check what it returns.

    Parameters
    ----------
    gradient : callable
        ``gradient(params (p,), data) -> (p,)``, or with ``batched`` its twin
        ``(k, p) -> (k, p)`` (called with the one row ``x[None, :]``).
    x : ndarray, shape (p,)
        A point in natural units (the sweep's first start).
    data : ndarray
        The dataset's values.

    Raises
    ------
    GradientError
        When it raises, returns something that is not an array of numbers of the right shape,
        or returns a non-finite value; the message says which and what it returned.
    """
    what = "[model].gradient_vectorized" if batched else "[model].gradient"
    point = np.asarray(x, dtype=np.float64)
    arg = point[None, :] if batched else point
    try:
        raw = gradient(arg, data)
        value = np.asarray(raw, dtype=np.float64)
    except Exception as exc:  # noqa: BLE001 - reported as the user's error, one line
        raise GradientError(what, f"raised {type(exc).__name__} at the first start: "
                                  f"{exc}") from exc
    if value.shape != arg.shape:
        raise GradientError(what, f"must return shape {arg.shape} (one derivative per "
                                  f"parameter{', per row' if batched else ''}), got "
                                  f"{value.shape}")
    if not np.all(np.isfinite(value)):
        raise GradientError(what, f"must return finite values, got {value.tolist()} at the "
                                  f"first start {point.tolist()}")
