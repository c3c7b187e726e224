"""Finite-difference gradients of a scalar function that keep every step inside the bounds.

Schemes: ``'2-point'`` (forward, flipped backward at an upper bound), ``'3-point'`` (central,
or a one-sided three-point formula next to a bound) and ``'cs'`` (complex step; the function must
accept complex input).  Default relative steps are sqrt(eps) for 2-point and cs and eps**(1/3)
for 3-point, scaled by ``max(1, |x|)`` as scipy does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["FD_METHODS", "approx_gradient", "approx_jacobian", "absolute_steps"]

FloatArray = npt.NDArray[np.float64]
FD_METHODS = ("2-point", "3-point", "cs")
_EPS = np.finfo(float).eps


def _default_rel_step(method: str) -> float:
    return _EPS ** (1.0 / 3.0) if method == "3-point" else _EPS**0.5


def absolute_steps(
    x: FloatArray, method: str, rel_step: float | FloatArray | None = None,
    abs_step: float | FloatArray | None = None,
) -> FloatArray:
    """Return the signed step per variable, shape (n,), before any bound adjustment."""
    sign = np.where(x >= 0, 1.0, -1.0)
    default = _default_rel_step(method) * sign * np.maximum(1.0, np.abs(x))
    if abs_step is not None:
        h = np.broadcast_to(np.asarray(abs_step, dtype=float), x.shape).astype(float)
    elif rel_step is not None:
        h = np.asarray(rel_step, dtype=float) * sign * np.abs(x)
    else:
        return default
    return np.where((x + h) - x == 0, default, h)


def _one_sided(x: FloatArray, h: FloatArray, n_steps: int, lb: FloatArray, ub: FloatArray
               ) -> FloatArray:
    """Flip or shrink one-sided steps ``n_steps * h`` so that they stay in ``[lb, ub]``."""
    h = h.copy()
    total = h * n_steps
    lower, upper = x - lb, ub - x
    violated = (x + total < lb) | (x + total > ub)
    fitting = np.abs(total) <= np.maximum(lower, upper)
    h[violated & fitting] *= -1
    forward = (upper >= lower) & ~fitting
    h[forward] = upper[forward] / n_steps
    backward = ~forward & ~fitting
    h[backward] = -lower[backward] / n_steps
    return h


def _values(fun: Callable[..., object], x: object) -> FloatArray:
    return np.asarray(fun(x), dtype=float).ravel()


def approx_jacobian(fun: Callable[[FloatArray], object], x: FloatArray, f0: FloatArray, *,
                    method: str = "2-point", rel_step: float | FloatArray | None = None,
                    abs_step: float | FloatArray | None = None, lb: FloatArray | None = None,
                    ub: FloatArray | None = None) -> FloatArray:
    """Finite-difference Jacobian of a vector function at ``x``, shape (m, n).

    ``f0`` is ``fun(x)`` (m values), already known.  Steps stay inside ``[lb, ub]`` when given.
    """
    n, m = x.size, np.size(f0)
    f0 = np.asarray(f0, dtype=float).ravel()
    h = absolute_steps(x, method, rel_step, abs_step)
    jac = np.empty((m, n))
    if method == "cs":
        for i in range(n):
            xc = x.astype(complex)
            xc[i] += 1j * h[i]
            jac[:, i] = np.imag(np.asarray(fun(xc)).ravel()) / h[i]
        return jac
    lo = np.full(n, -np.inf) if lb is None else lb
    hi = np.full(n, np.inf) if ub is None else ub
    if method == "2-point":
        h = _one_sided(x, h, 1, lo, hi)
        for i in range(n):
            xp = x.copy()
            xp[i] += h[i]
            jac[:, i] = (_values(fun, xp) - f0) / (xp[i] - x[i])
        return jac
    if method != "3-point":
        raise ValueError(f"unknown finite-difference method {method!r}; use one of {FD_METHODS}")
    central = (x - h >= lo) & (x + h <= hi)
    one_sided = np.where(central, h, _one_sided(x, h, 2, lo, hi))
    for i in range(n):
        xa, xb = x.copy(), x.copy()
        if central[i]:
            xa[i] -= h[i]
            xb[i] += h[i]
            jac[:, i] = (_values(fun, xb) - _values(fun, xa)) / (xb[i] - xa[i])
        else:
            xa[i] += one_sided[i]
            xb[i] += 2 * one_sided[i]
            jac[:, i] = (-3.0 * f0 + 4.0 * _values(fun, xa) - _values(fun, xb)) / (xb[i] - x[i])
    return jac


def approx_gradient(
    fun: Callable[[FloatArray], float], x: FloatArray, f0: float, *, method: str = "2-point",
    rel_step: float | FloatArray | None = None, abs_step: float | FloatArray | None = None,
    lb: FloatArray | None = None, ub: FloatArray | None = None,
) -> FloatArray:
    """Return the finite-difference gradient of ``fun`` at ``x``, shape (n,).

    ``f0`` is ``fun(x)``, already known.  Steps stay inside ``[lb, ub]`` when they are given.
    """
    return approx_jacobian(fun, x, np.array([f0]), method=method, rel_step=rel_step,
                           abs_step=abs_step, lb=lb, ub=ub)[0]
