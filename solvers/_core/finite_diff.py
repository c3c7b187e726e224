"""Finite differences for the whole project: Jacobians, gradients and Hessians whose steps stay
inside the bounds.

This is the one finite-difference routine: the solver methods, `calib.derivatives` (derivatives
for methods that need callables) and `calib.uncertainty` (the Hessian behind standard errors) all
use it, through `solvers`' public names.

First derivatives (`approx_jacobian`, `approx_gradient`, `approx_fprime`): schemes ``'2-point'``
(forward, flipped backward at an upper bound), ``'3-point'`` (central, or a one-sided three-point
formula next to a bound) and ``'cs'`` (complex step; the function must accept complex input).
Default relative steps are sqrt(eps) for 2-point and cs and eps**(1/3) for 3-point, scaled by
``max(1, |x|)`` as scipy does.

Second derivatives (`approx_hessian`): from objective values alone, O(h**2) stencils (central,
or one-sided on points ``x + k h``, k = 0..3, next to a bound), every point evaluated in one
batched call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["FD_METHODS", "HessianEstimate", "absolute_steps", "approx_fprime", "approx_gradient",
           "approx_hessian", "approx_jacobian"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
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


def approx_jacobian(fun: Callable[[FloatArray], object], x: FloatArray,
                    f0: npt.ArrayLike | None = None, *, method: str = "2-point",
                    rel_step: float | FloatArray | None = None,
                    abs_step: float | FloatArray | None = None, lb: FloatArray | None = None,
                    ub: FloatArray | None = None) -> FloatArray:
    """Finite-difference Jacobian of a vector function at ``x``, shape (m, n).

    ``f0`` is ``fun(x)`` (m values) when already known; when None it is evaluated only if the
    scheme needs it (a 3-point scheme with every step central does not).  ``abs_step`` (n,) or
    ``rel_step`` (scaled by ``|x|``) override the default steps.  Steps stay inside
    ``[lb, ub]`` when given.
    """
    if method not in FD_METHODS:
        raise ValueError(f"unknown finite-difference method {method!r}; use one of {FD_METHODS}")
    n = x.size
    h = absolute_steps(x, method, rel_step, abs_step)
    lo = np.full(n, -np.inf) if lb is None else lb
    hi = np.full(n, np.inf) if ub is None else ub
    central = (x - h >= lo) & (x + h <= hi) if method == "3-point" else None
    if f0 is None:
        if central is not None and central.all():  # f(x) is not needed
            return _central_jacobian(fun, x, h)
        f0 = _values(fun, x)
    m = np.size(f0)
    f0 = np.asarray(f0, dtype=float).ravel()
    jac = np.empty((m, n))
    if method == "cs":
        for i in range(n):
            xc = x.astype(complex)
            xc[i] += 1j * h[i]
            jac[:, i] = np.imag(np.asarray(fun(xc)).ravel()) / h[i]
        return jac
    if method == "2-point":
        h = _one_sided(x, h, 1, lo, hi)
        for i in range(n):
            xp = x.copy()
            xp[i] += h[i]
            jac[:, i] = (_values(fun, xp) - f0) / (xp[i] - x[i])
        return jac
    assert central is not None
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


def _central_jacobian(fun: Callable[[FloatArray], object], x: FloatArray, h: FloatArray
                      ) -> FloatArray:
    """Central differences ``(f(x + h_i e_i) - f(x - h_i e_i)) / (2 h_i)`` as columns, (m, n)."""
    columns = []
    for i in range(x.size):
        xa, xb = x.copy(), x.copy()
        xa[i] -= h[i]
        xb[i] += h[i]
        columns.append((_values(fun, xb) - _values(fun, xa)) / (xb[i] - xa[i]))
    return np.array(columns).T.reshape(-1, x.size) if columns else np.empty((0, 0))


def approx_gradient(
    fun: Callable[[FloatArray], object], x: FloatArray, f0: float | None = None, *,
    method: str = "2-point",
    rel_step: float | FloatArray | None = None, abs_step: float | FloatArray | None = None,
    lb: FloatArray | None = None, ub: FloatArray | None = None,
) -> FloatArray:
    """Return the finite-difference gradient of ``fun`` at ``x``, shape (n,).

    ``f0`` is ``fun(x)`` when already known (see `approx_jacobian`).  Steps stay inside
    ``[lb, ub]`` when they are given.
    """
    return approx_jacobian(fun, x, None if f0 is None else np.array([f0]), method=method,
                           rel_step=rel_step, abs_step=abs_step, lb=lb, ub=ub)[0]


def approx_fprime(xk: npt.ArrayLike, f: Callable[..., object],
                  epsilon: float | npt.ArrayLike = _EPS**0.5, *args: object) -> FloatArray:
    """scipy's ``approx_fprime``: forward differences with absolute step ``epsilon``.

    Returns the gradient, shape (n,), for a scalar ``f``, or the Jacobian, shape (m, n), for a
    vector one (``f(xk, *args)``).
    """
    x = np.atleast_1d(np.asarray(xk, dtype=float))
    f0 = np.asarray(f(x, *args), dtype=float)
    jac = approx_jacobian(lambda u: f(u, *args), x, f0, method="2-point",
                          abs_step=np.asarray(epsilon, dtype=float))
    return jac[0] if f0.ndim == 0 else jac


# -- second derivatives from values ----------------------------------------------------------------
# stencils in multiples k of the (signed) step h: weights of h f' and of h**2 f''
_FIRST = {"central": ((-1, 1), (-0.5, 0.5)), "one-sided": ((0, 1, 2), (-1.5, 2.0, -0.5))}
_SECOND = {"central": ((-1, 0, 1), (1.0, -2.0, 1.0)),
           "one-sided": ((0, 1, 2, 3), (2.0, -5.0, 4.0, -1.0))}


@dataclass(frozen=True, eq=False)
class HessianEstimate:
    """A finite-difference Hessian and what it was computed from (a read-only record).

    Attributes
    ----------
    matrix : ndarray, shape (n, n)
        Symmetric Hessian estimate (NaN entries where the function was not finite).
    steps : ndarray, shape (n,)
        Signed step per variable: negative where a backward one-sided stencil was used.
    one_sided : ndarray of bool, shape (n,)
        Variables whose stencil is one-sided (central steps would leave the bounds).
    values : ndarray, shape (k,)
        The function at every stencil point (``values[0]`` is ``f(x)``); NaN where not finite.
    """

    matrix: FloatArray
    steps: FloatArray
    one_sided: BoolArray
    values: FloatArray


def hessian_steps(x: FloatArray, steps: FloatArray, lb: FloatArray | None = None,
                  ub: FloatArray | None = None) -> tuple[FloatArray, BoolArray]:
    """Signed steps (n,) of `approx_hessian`'s stencils and which variables are one-sided.

    Central where ``x -+ |h|`` are both inside ``[lb, ub]``; else one-sided on ``x + k h``
    (k = 0..3) towards the side with room, the step shrunk to a third of the larger room when
    neither side has three steps.  Every stencil point lies inside the bounds, to the last ulp.
    """
    n = x.size
    lo = np.full(n, -np.inf) if lb is None else np.asarray(lb, dtype=float)
    hi = np.full(n, np.inf) if ub is None else np.asarray(ub, dtype=float)
    h = np.abs(np.asarray(steps, dtype=float))
    central = (lo <= x - h) & (x + h <= hi)
    signed = np.where(central, h, _one_sided(x, h, 3, lo, hi))
    for i in np.flatnonzero(~central):  # rounding may put x + 3 h one ulp outside: shrink it
        while not lo[i] <= x[i] + 3.0 * signed[i] <= hi[i]:
            signed[i] = np.nextafter(signed[i], 0.0)
    return signed, ~central


def approx_hessian(fun_batch: Callable[[FloatArray], npt.ArrayLike], x: npt.ArrayLike,
                   steps: npt.ArrayLike, *, lb: FloatArray | None = None,
                   ub: FloatArray | None = None) -> HessianEstimate:
    """Hessian of a scalar function at ``x`` from its values, O(h**2), steps inside the bounds.

    ``fun_batch(points (k, n)) -> (k,)`` evaluates the function at every stencil point in one
    call (return NaN for a point where it fails).  ``steps`` (n,) are the step sizes (their
    sign is ignored; `hessian_steps` chooses the side).  The diagonal uses second differences,
    the off-diagonal the 4-point mixed stencil of first differences; ``1 + 2 n**2`` points with
    central stencils.
    """
    point = np.asarray(x, dtype=float)
    n = point.size
    signed, one_sided = hessian_steps(point, np.asarray(steps, dtype=float), lb, ub)
    kinds = ["one-sided" if side else "central" for side in one_sided]
    terms: list[tuple[int, int, tuple[tuple[int, int], ...], float]] = []
    for i in range(n):
        ks, ws = _SECOND[kinds[i]]
        terms += [(i, i, ((i, k),), w / signed[i] ** 2) for k, w in zip(ks, ws)]
        for j in range(i):
            (ki, wi), (kj, wj) = _FIRST[kinds[i]], _FIRST[kinds[j]]
            terms += [(i, j, ((j, b), (i, a)), u * v / (signed[i] * signed[j]))
                      for a, u in zip(ki, wi) for b, v in zip(kj, wj)]
    keys = sorted({_nonzero(key) for _, _, key, _ in terms})
    points = np.array([_displaced(point, signed, key) for key in keys])
    values = np.asarray(fun_batch(points), dtype=float).reshape(len(keys))
    values = np.where(np.isfinite(values), values, np.nan)
    # every stencil's weights sum to zero: differences from f(x) spare the rounding of w * f
    value_of = dict(zip(keys, values - values[keys.index(())]))
    matrix = np.zeros((n, n))
    for i, j, key, weight in terms:
        matrix[i, j] += weight * value_of[_nonzero(key)]
    matrix = np.tril(matrix) + np.tril(matrix, -1).T
    order = [keys.index(())] + [k for k in range(len(keys)) if keys[k] != ()]
    return HessianEstimate(matrix=matrix, steps=signed, one_sided=one_sided,
                           values=values[order])


def _nonzero(key: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    return tuple(kv for kv in key if kv[1] != 0)


def _displaced(point: FloatArray, steps: FloatArray,
               key: tuple[tuple[int, int], ...]) -> FloatArray:
    moved = point.copy()
    for index, multiple in key:
        moved[index] = point[index] + multiple * steps[index]
    return moved
