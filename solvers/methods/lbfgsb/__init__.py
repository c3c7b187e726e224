"""L-BFGS-B: limited-memory BFGS for bound-constrained minimisation.

Each iteration (Byrd, Lu, Nocedal & Zhu 1995; Zhu et al. 1997, Algorithm 778; Morales & Nocedal
2011): find the generalized Cauchy point along the projected steepest-descent path
(`_cauchy_point`), minimise the limited-memory model over the variables still free there
(`_subspace`), and search along the resulting direction with the Moré–Thuente line search kept
inside the box (`_projected_search`).  The correction pair of the step is stored
(`memory`) unless its curvature ``s^T y`` is not positive enough.  A failed line search
(or a breakdown of the small linear algebra) resets the memory and retries from the same point;
a failure with an empty memory ends the run ("ABNORMAL").  Termination tests, status codes,
messages and the counting of ``nit``/``nfev``/``njev`` follow scipy 1.17's
``_minimize_lbfgsb``: the iteration and evaluation limits are checked after each iteration,
before the convergence tests.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._core.objective import ScalarObjective
from ..._result import OptimizeResult
from .cauchy_point import generalized_cauchy_point
from .memory import LbfgsMemory
from .projected_search import (
    SearchResult,
    projected_gradient_norm,
    projected_line_search,
)
from .subspace import subspace_minimum

__all__ = ["minimize_lbfgsb"]

FloatArray = npt.NDArray[np.float64]
_EPSMCH = float(np.finfo(float).eps)

_CONVERGED_PG = "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
_CONVERGED_F = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
_STOP_ITER = "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
_STOP_FEV = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
_ABNORMAL = "ABNORMAL: "
_DEPRECATED = ("scipy.optimize: The `disp` and `iprint` options of the L-BFGS-B solver are "
               "deprecated and will be removed in SciPy 1.18.0.")


@dataclass(frozen=True)
class _Box:
    """The bounds as L-BFGS-B uses them."""

    lb: FloatArray
    ub: FloatArray
    fixed: npt.NDArray[np.bool_] | None  # variables with lb == ub (None: there are none)
    constrained: bool   # some variable has a finite bound
    boxed: bool         # every variable has two finite bounds

    @classmethod
    def from_context(cls, ctx: RunContext, n: int) -> _Box:
        if ctx.bounds is None:
            lb, ub = np.full(n, -np.inf), np.full(n, np.inf)
        else:
            lb, ub = ctx.bounds.lb, ctx.bounds.ub
        has_lb, has_ub = np.isfinite(lb), np.isfinite(ub)
        both = has_lb & has_ub
        fixed = both & (lb >= ub)
        return cls(lb, ub, fixed if fixed.any() else None, bool((has_lb | has_ub).any()),
                   bool(both.all()))


def _search_target(x: FloatArray, g: FloatArray, box: _Box, memory: LbfgsMemory) -> FloatArray:
    """The point ``z`` to search towards: Cauchy point, then subspace minimisation.

    Raises `numpy.linalg.LinAlgError` when the subspace system is singular.
    """
    if not box.constrained and memory.col > 0:
        return subspace_minimum(x, g, None, box.lb, box.ub, memory)
    cauchy = generalized_cauchy_point(x, g, box.lb, box.ub, box.fixed, memory.theta,
                                      memory.wt, memory.m_mat)
    return subspace_minimum(x, g, cauchy, box.lb, box.ub, memory)


def _store_pair(memory: LbfgsMemory, g: FloatArray, step: SearchResult) -> None:
    """Add the step's correction pair unless its curvature is too small (Algorithm 778)."""
    stp = step.stp
    s = step.d if stp == 1.0 else stp * step.d
    sy = (step.slope - step.slope0) * stp
    if sy <= _EPSMCH * (-step.slope0 * stp):
        return
    y = step.g - g
    memory.add(s, y, sy, float(s @ s), float(y @ y))


def _iterate(obj: ScalarObjective, ctx: RunContext, x: FloatArray, box: _Box, *,
             maxcor: int, ftol: float, gtol: float, maxfun: int, maxiter: int, maxls: int
             ) -> tuple[FloatArray, float, FloatArray, str, LbfgsMemory]:
    """Run the iterations; return the final ``x``, ``f``, ``g``, message and memory."""
    f, g = obj.fun_and_grad(x)
    its = ctx.iterations
    its.start(x, f, g)
    memory = LbfgsMemory(x.size, maxcor)
    lb, ub = (box.lb, box.ub) if box.constrained else (None, None)
    if projected_gradient_norm(x, g, lb, ub) <= gtol:
        return x, f, g, _CONVERGED_PG, memory
    tol = (ftol / _EPSMCH) * _EPSMCH
    nit = 0
    while True:
        try:
            z = _search_target(x, g, box, memory)
        except np.linalg.LinAlgError:
            memory.reset()
            continue
        step = projected_line_search(obj, x, f, g, z, box.lb, box.ub,
                                     first_iteration=nit == 0, constrained=box.constrained,
                                     boxed=box.boxed, maxls=maxls)
        if step is None:
            if memory.col == 0:
                return x, f, g, _ABNORMAL, memory
            memory.reset()
            continue
        nit += 1
        its.step(step.x, step.f, step.g)
        if nit >= maxiter:
            return step.x, step.f, step.g, _STOP_ITER, memory
        if obj.nfev > maxfun:
            return step.x, step.f, step.g, _STOP_FEV, memory
        if projected_gradient_norm(step.x, step.g, lb, ub) <= gtol:
            return step.x, step.f, step.g, _CONVERGED_PG, memory
        if f - step.f <= tol * max(abs(f), abs(step.f), 1.0):
            return step.x, step.f, step.g, _CONVERGED_F, memory
        _store_pair(memory, g, step)
        x, f, g = step.x, step.f, step.g


def minimize_lbfgsb(ctx: RunContext, x0: FloatArray, *, maxcor: int = 10,
                    ftol: float = 2.2204460492503131e-09, gtol: float = 1e-5,
                    eps: float | FloatArray = 1e-8, maxfun: int = 15000, maxiter: int = 15000,
                    iprint: Any = None, maxls: int = 20,
                    finite_diff_rel_step: float | FloatArray | None = None,
                    workers: Any = None) -> OptimizeResult:
    """Minimize a function with bounds on the variables by L-BFGS-B.

    Options
    -------
    maxcor : int
        The maximum number of variable metric corrections used to define the limited memory
        matrix (the number of stored correction pairs).
    ftol : float
        The iteration stops when ``(f^k - f^{k+1}) / max{|f^k|, |f^{k+1}|, 1} <= ftol``.
    gtol : float
        The iteration stops when ``max{|proj g_i| : i = 1, ..., n} <= gtol``, where
        ``proj g_i`` is the i-th component of the gradient projected onto the box.
    eps : float or ndarray
        If ``jac is None``, the absolute step size of the forward-difference gradient.
    maxfun : int
        Maximum number of function evaluations; checked after each iteration, so it may be
        exceeded within the last one (and by finite-difference gradients).
    maxiter : int
        Maximum number of iterations.
    iprint : int, optional
        Deprecated and ignored (as in scipy, passing it emits a `DeprecationWarning`).
    maxls : int
        Maximum number of line search steps (function evaluations) per iteration.
    finite_diff_rel_step : None or array_like
        If ``jac`` is '2-point', '3-point' or 'cs', the relative step of the finite
        differences: ``h = rel_step * sign(x) * max(1, abs(x))``, adjusted to the bounds.
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac``, ``nit``, ``nfev``, ``njev``, ``status`` (0 converged, 1 an
        iteration or evaluation limit, 2 otherwise), ``success``, ``message`` and ``hess_inv``
        (an `LbfgsInvHessProduct` built from the stored correction pairs).
    """
    if iprint is not None:
        warnings.warn(_DEPRECATED, DeprecationWarning, stacklevel=4)
    if not maxls > 0:
        raise ValueError("maxls must be positive.")
    x = np.array(x0, dtype=float)
    box = _Box.from_context(ctx, x.size)
    x = np.clip(x, box.lb, box.ub)
    obj = ctx.make_objective(eps=eps, rel_step=finite_diff_rel_step)
    x, f, g, message, memory = _iterate(obj, ctx, x, box, maxcor=maxcor, ftol=ftol, gtol=gtol,
                                        maxfun=maxfun, maxiter=maxiter, maxls=maxls)
    if message.startswith("CONVERGENCE"):
        status = 0
    elif obj.nfev > maxfun or ctx.iterations.nit >= maxiter:
        status = 1
    else:
        status = 2
    return OptimizeResult(x=x, fun=f, jac=g, nfev=obj.nfev, njev=obj.njev,
                          nit=ctx.iterations.nit, status=status, success=status == 0,
                          message=message, hess_inv=memory.hess_inv())
