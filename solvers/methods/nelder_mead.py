"""The Nelder-Mead downhill simplex method, step for step as `scipy.optimize.minimize` runs it.

The iterates, evaluation counts, iteration counts, status codes and the final simplex equal
scipy 1.17's ``method='Nelder-Mead'``: the same initial simplex (5 % of each nonzero coordinate,
0.00025 for a zero one), the same reflection / expansion / contraction / shrink order and
coefficients (optionally Gao & Han's adaptive ones), the same tie-breaking sort, the same
convergence test on ``xatol`` / ``fatol`` and the same clipping into the bounds.

Counting follows scipy: the evaluation of the initial simplex counts as iteration 1, so a run
that stops after k simplex moves reports ``nit = k + 1`` and the callback is called k times.
The evaluation budget ``maxfev`` is a hard cap (``nfev <= maxfev``), as in scipy: an iteration
that would need evaluation ``maxfev + 1`` is abandoned and the run ends with status 1.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.context import RunContext
from .._result import MESSAGES, OptimizeResult

__all__ = ["minimize_nelder_mead"]

FloatArray = npt.NDArray[np.float64]

#: relative step of the default simplex for a nonzero coordinate, and the absolute one for zero
NONZERO_DELTA = 0.05
ZERO_DELTA = 0.00025


class _BudgetSpent(Exception):
    """The next evaluation would exceed ``maxfev``: abandon the current iteration."""


def simplex_coefficients(adaptive: bool, n: int) -> tuple[float, float, float, float]:
    """Return the reflection, expansion, contraction and shrink coefficients.

    Parameters
    ----------
    adaptive : bool
        Use Gao & Han's dimension-dependent coefficients instead of the standard (1, 2, 1/2, 1/2).
    n : int
        Number of variables.
    """
    if not adaptive:
        return 1, 2, 0.5, 0.5
    dim = float(n)
    return 1, 1 + 2 / dim, 0.75 - 1 / (2 * dim), 1 - 1 / dim


def default_simplex(x0: FloatArray) -> FloatArray:
    """Return the (n + 1, n) simplex: ``x0``, then ``x0`` with coordinate k moved by 5 %.

    A zero coordinate moves to 0.00025 instead.
    """
    n = x0.size
    sim = np.tile(x0, (n + 1, 1))
    diagonal = np.where(x0 != 0, (1 + NONZERO_DELTA) * x0, ZERO_DELTA)
    sim[np.arange(1, n + 1), np.arange(n)] = diagonal
    return sim


def validate_simplex(initial_simplex: Any, n: int) -> FloatArray:
    """Return ``initial_simplex`` as a float (n + 1, n) array, or raise scipy's `ValueError`."""
    sim = np.array(np.atleast_2d(initial_simplex), dtype=float)
    if sim.ndim != 2 or sim.shape[0] != sim.shape[1] + 1:
        raise ValueError("`initial_simplex` should be an array of shape (N+1,N)")
    if sim.shape[1] != n:
        raise ValueError("Size of `initial_simplex` is not consistent with `x0`")
    return sim


def reflect_into_bounds(sim: FloatArray, lb: FloatArray, ub: FloatArray) -> FloatArray:
    """Mirror vertices above ``ub`` back below it, then clip every vertex into ``[lb, ub]``.

    Clipping alone could collapse the default simplex onto an upper bound when ``x0`` lies
    just below it; mirroring keeps the vertices distinct.
    """
    return np.clip(np.where(sim > ub, 2 * ub - sim, sim), lb, ub)


def iteration_limits(maxiter: float | None, maxfev: float | None,
                     n: int) -> tuple[float, float]:
    """Return ``(maxiter, maxfev)`` with scipy's defaults: 200 n for both when neither is given.

    When only one is given the other is unlimited, unless the given one is infinite.
    """
    default = 200 * n
    if maxiter is None and maxfev is None:
        return default, default
    if maxiter is None:
        return (default if maxfev == np.inf else np.inf), maxfev  # type: ignore[return-value]
    if maxfev is None:
        return maxiter, (default if maxiter == np.inf else np.inf)
    return maxiter, maxfev


def _converged(sim: FloatArray, fsim: FloatArray, xatol: float, fatol: float) -> bool:
    return bool(np.abs(sim[1:] - sim[0]).max() <= xatol
                and np.abs(fsim[0] - fsim[1:]).max() <= fatol)


def _move_simplex(sim: FloatArray, fsim: FloatArray, f: Any, clip: Any,
                  coef: tuple[float, float, float, float]) -> None:
    """One Nelder-Mead iteration on the sorted simplex, in place (scipy's order of trials)."""
    rho, chi, psi, sigma = coef
    worst = sim[-1]
    xbar = sim[:-1].sum(axis=0) / sim.shape[1]
    xr = clip((1 + rho) * xbar - rho * worst)
    fxr = f(xr)
    if fxr < fsim[0]:
        xe = clip((1 + rho * chi) * xbar - rho * chi * worst)
        fxe = f(xe)
        if fxe < fxr:
            sim[-1], fsim[-1] = xe, fxe
        else:
            sim[-1], fsim[-1] = xr, fxr
        return
    if fxr < fsim[-2]:
        sim[-1], fsim[-1] = xr, fxr
        return
    if fxr < fsim[-1]:  # outside contraction
        xc = clip((1 + psi * rho) * xbar - psi * rho * worst)
        fxc = f(xc)
        if fxc <= fxr:
            sim[-1], fsim[-1] = xc, fxc
            return
    else:  # inside contraction
        xcc = clip((1 - psi) * xbar + psi * worst)
        fxcc = f(xcc)
        if fxcc < fsim[-1]:
            sim[-1], fsim[-1] = xcc, fxcc
            return
    shrunk = clip(sim[0] + sigma * (sim[1:] - sim[0]))
    for j in range(1, sim.shape[0]):  # vertex by vertex, so a spent budget stops half-way
        sim[j] = shrunk[j - 1]
        fsim[j] = f(sim[j])


def minimize_nelder_mead(ctx: RunContext, x0: FloatArray, *, maxiter: int | None = None,
                         maxfev: int | None = None, xatol: float = 1e-4, fatol: float = 1e-4,
                         adaptive: bool = False, initial_simplex: Any = None) -> OptimizeResult:
    """Minimize with the Nelder-Mead downhill simplex method (derivative-free).

    Options
    -------
    maxiter, maxfev : int
        Maximum allowed number of iterations and function evaluations.  Both default to
        ``200 * N`` (N the number of variables) when neither is set; when both are set the run
        stops at the first reached.  ``nfev`` never exceeds ``maxfev``.
    initial_simplex : array_like of shape (N + 1, N)
        Initial simplex; overrides ``x0``.  Row j holds the coordinates of vertex j.
    xatol : float
        Absolute spread of the simplex vertices (in x) acceptable for convergence.
    fatol : float
        Absolute spread of the function values over the simplex acceptable for convergence.
    adaptive : bool
        Adapt the coefficients to the dimension (Gao & Han 2012), useful when N is large.

    Bounds are honoured by clipping every trial vertex into them (an ``x0`` outside them is
    clipped, with an `OptimizeWarning`).  The result has ``final_simplex``: the sorted
    (N + 1, N) vertices and their (N + 1,) values.
    """
    n = x0.size
    if initial_simplex is None:
        sim = default_simplex(x0)
    else:
        sim = validate_simplex(initial_simplex, n)
    iteration_limit, maxfun = iteration_limits(maxiter, maxfev, n)

    bounds = ctx.bounds
    if bounds is not None:
        lb, ub = bounds.lb, bounds.ub
        sim = reflect_into_bounds(sim, lb, ub)

        def clip(x: FloatArray) -> FloatArray:
            return np.clip(x, lb, ub)
    else:
        def clip(x: FloatArray) -> FloatArray:
            return x

    obj = ctx.make_objective(use_jac=False,
                             max_nfev=None if maxfun == np.inf else math.ceil(maxfun))
    evaluate = obj.evaluate

    def f(x: FloatArray) -> float:
        if obj.nfev >= maxfun:
            raise _BudgetSpent
        return evaluate(x)

    its = ctx.iterations
    fsim = np.full(n + 1, np.inf)
    try:
        for k in range(n + 1):
            fsim[k] = f(sim[k])
    except _BudgetSpent:
        pass
    its.start(sim[0].copy(), float(fsim[0]))
    order = fsim.argsort()
    sim, fsim = sim[order], fsim[order]
    its.count_unreported(sim[0], float(fsim[0]))  # scipy numbers the setup iteration 1

    coef = simplex_coefficients(adaptive, n)
    iterations = 1
    while obj.nfev < maxfun and iterations < iteration_limit:
        if _converged(sim, fsim, xatol, fatol):
            break
        try:
            _move_simplex(sim, fsim, f, clip, coef)
        except _BudgetSpent:
            order = fsim.argsort()
            sim, fsim = sim[order], fsim[order]
            its.report_uncounted(sim[0], float(fsim[0]))
            break
        iterations += 1
        order = fsim.argsort()
        sim, fsim = sim[order], fsim[order]
        its.step(sim[0], float(fsim[0]))
    return _result(sim, fsim, iterations, obj.nfev, iteration_limit, maxfun)


def _result(sim: FloatArray, fsim: FloatArray, nit: int, nfev: int, maxiter: float,
            maxfun: float) -> OptimizeResult:
    if nfev >= maxfun:
        status, reason = 1, "maxfev"
    elif nit >= maxiter:
        status, reason = 2, "maxiter"
    else:
        status, reason = 0, "success"
    return OptimizeResult(fun=fsim.min(), nit=nit, nfev=nfev, status=status,
                          success=status == 0, message=MESSAGES[reason], x=sim[0].copy(),
                          final_simplex=(sim, fsim))
