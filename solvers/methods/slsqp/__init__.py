"""SLSQP: Kraft's sequential least-squares quadratic programming, as scipy 1.17's
``_minimize_slsqp``.

Each iteration solves the QP ``min 1/2 s^T B s + g^T s`` subject to the constraints linearised at
``x`` and the bounds (`_lsq.solve_qp`; an inconsistent linearisation is relaxed by a slack
variable with weights 100, 1000, ...), then searches along ``s`` on the exact-penalty (L1) merit
``f + sum_j mu_j * violation_j`` (backtracking by safeguarded quadratic interpolation, at most 10
reductions, factor >= 0.1), and updates ``B``, the Lagrangian-Hessian estimate, by Powell's
damped BFGS formula on its ``L D L^T`` factors (`_slsqp_ldl`).  Bounds are inequality rows of
the QP; the step is clipped to them, so ``x`` never leaves the box.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

# the ufunc that np.clip calls when both bounds are given, without its wrapper; a private
# numpy name (its stub omits it), so looked up at run time, np.clip where it is missing
# (tests/solvers/test_numpy_fallback.py hides it)
_clip: Callable[..., Any]
try:
    _clip = importlib.import_module("numpy._core.umath").clip
except (ImportError, AttributeError):  # pragma: no cover - other numpy layouts
    _clip = np.clip

from ..._core.constraints import ConstraintFunctions
from ..._core.context import RunContext
from ..._core.finite_diff import FD_METHODS
from ..._core.objective import ScalarObjective
from ..._core.small_linalg import reduce_sum as _reduce_sum
from ..._result import OptimizeResult
from .ldl import LDLFactors
from .lsq import INCOMPATIBLE, OK, SINGULAR_E, solve_qp

__all__ = ["minimize_slsqp", "EXIT_MODES"]

FloatArray = npt.NDArray[np.float64]
_EPSILON = float(np.sqrt(np.finfo(float).eps))
_MAX_RESETS = 5
_MAX_RELAXATIONS = 5
_MAX_BACKTRACKS = 10
_ALPHA_MIN = 0.1

#: scipy's exit modes (status codes) and messages
EXIT_MODES: dict[int, str] = {
    -1: "Gradient evaluation required (g & a)",
    0: "Optimization terminated successfully",
    1: "Function evaluation required (f & c)",
    2: "More equality constraints than independent variables",
    3: "More than 3*n iterations in LSQ subproblem",
    4: "Inequality constraints incompatible",
    5: "Singular matrix E in LSQ subproblem",
    6: "Singular matrix C in LSQ subproblem",
    7: "Rank-deficient equality constraint subproblem HFTI",
    8: "Positive directional derivative for linesearch",
    9: "Iteration limit reached",
}


class _Point:
    """An iterate: x, f, g and the constraint values and Jacobian (equalities first), with
    the constraint violations (see `_State.violations`) once computed."""

    __slots__ = ("x", "f", "g", "c", "jac", "viol")

    def __init__(self, x: FloatArray, f: float, g: FloatArray, c: FloatArray, jac: FloatArray,
                 viol: list[float] | None = None) -> None:
        self.x, self.f, self.g, self.c, self.jac, self.viol = x, f, g, c, jac, viol


@dataclass
class _State:
    """What SLSQP carries between iterations."""

    n_eq: int
    acc: float
    hess: LDLFactors
    mu: list[float]                     # penalty weights of the L1 merit
    mult: FloatArray                    # QP multipliers (constraints only)
    s: FloatArray = field(default_factory=lambda: np.zeros(0))
    f0: float = 0.0
    gs: float = 0.0                     # g^T s, the objective's slope along s
    h4: float = 1.0                     # 1 - slack of a relaxed QP (1 when consistent)
    nit: int = 0
    resets: int = 0

    def violations(self, point: _Point) -> list[float]:
        """Per constraint: ``|c|`` for equalities, ``max(-c, 0)`` for inequalities (NaN stays
        NaN), computed once per point.  (Only sums of them are used, and those do not depend
        on the signs of zeros.)"""
        viol = point.viol
        if viol is None:
            c = point.c.tolist()
            viol = [abs(v) for v in c[:self.n_eq]]
            viol += [-v if -v > 0.0 or v != v else 0.0 for v in c[self.n_eq:]]
            point.viol = viol
        return viol

    def total_violation(self, point: _Point) -> float:
        """The L1 norm of the violations."""
        return _reduce_sum(self.violations(point)) if self.mu else 0.0

    def penalty(self, point: _Point) -> float:
        """``sum_j mu_j * violation_j``, the penalty term of the L1 merit."""
        if not self.mu:
            return 0.0
        return _reduce_sum([u * v for u, v in zip(self.mu, self.violations(point))])


def _maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats that are not both zeros of opposite signs."""
    if a != a or b != b:
        return a if a != a else b
    return a if a >= b else b


class _Problem:
    """The objective, constraints and bounds, evaluated as SLSQP needs them."""

    def __init__(self, obj: ScalarObjective, cons: ConstraintFunctions, lower: FloatArray,
                 upper: FloatArray) -> None:
        self.obj, self.cons, self.lower, self.upper = obj, cons, lower, upper
        # with no finite bound, lower - x and upper - x are never finite either
        self.bounded = bool(np.isfinite(lower).any() or np.isfinite(upper).any())

    def values(self, x: FloatArray) -> tuple[float, FloatArray]:
        f, eq, ineq = self.obj.fun(x), self.cons.eq(x), self.cons.ineq(x)
        return f, _stack(eq, ineq)

    def derivatives(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        g, eq, ineq = self.obj.grad(x), self.cons.eq_jac(x), self.cons.ineq_jac(x)
        return g, _stack(eq, ineq)

    def point(self, x: FloatArray) -> _Point:
        f, c = self.values(x)
        g, jac = self.derivatives(x)
        return _Point(x, f, g, c, jac)


def _stack(first: FloatArray, second: FloatArray) -> FloatArray:
    """``np.concatenate((first, second))`` (never written to), without the copy when one part
    is empty and the other C-contiguous (the layout concatenate would give)."""
    if not len(first) and second.flags.c_contiguous:
        return second
    if not len(second) and first.flags.c_contiguous:
        return first
    return np.concatenate((first, second))


def minimize_slsqp(ctx: RunContext, x0: FloatArray, *, maxiter: int = 100, ftol: float = 1e-6,
                   iprint: int = 1, eps: float = _EPSILON, finite_diff_rel_step: Any = None,
                   workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function subject to bounds and constraints with SLSQP.

    Options
    -------
    ftol : float
        Precision target for the value of f in the stopping criterion: the gradient of the
        Lagrangian, the sum of the constraint violations, the step and the change of f are
        checked against it.
    eps : float
        Step size of the forward differences used when ``jac`` (or a constraint's ``jac``) is
        not given.
    maxiter : int
        Maximum number of iterations.
    iprint : int
        Verbosity of scipy's printed report; the report is ``minimize(..., options={'disp':
        True})``'s summary here, so it is accepted and otherwise unused.
    finite_diff_rel_step : None or array_like
        If ``jac`` is '2-point', '3-point' or 'cs', the relative step of the finite
        differences (also used for constraint Jacobians then).
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.

    Returns
    -------
    OptimizeResult
        ``x``, ``fun``, ``jac`` (the gradient at the last point where it was evaluated),
        ``nit``, ``nfev``, ``njev``, ``status`` (scipy's exit mode, see `EXIT_MODES`),
        ``success``, ``message`` and ``multipliers`` (KKT multipliers of the QP: equalities
        first, then inequalities; bounds excluded).
    """
    del iprint, workers
    lower, upper = _bounds(ctx, x0.size)
    x = np.clip(np.array(x0, dtype=float), lower, upper)
    named = isinstance(ctx.jac, str) and ctx.jac in FD_METHODS
    cons = ConstraintFunctions(
        list(ctx.constraints or ()), x, eps=None if named else eps,
        rel_step=finite_diff_rel_step if named else None,
        scheme=ctx.jac if named else "2-point", lb=lower, ub=upper)
    obj = ctx.make_objective(eps=eps, rel_step=finite_diff_rel_step)
    problem = _Problem(obj, cons, lower, upper)
    m = cons.n_eq + cons.n_ineq
    state = _State(n_eq=cons.n_eq, acc=abs(ftol), hess=LDLFactors(x.size), mu=[0.0] * m,
                   mult=np.zeros(m), s=np.zeros(x.size))
    point = problem.point(x)
    ctx.iterations.start(point.x, point.f, point.g)
    point, mode = _iterate(problem, state, point, int(maxiter), ctx)
    return OptimizeResult(
        x=point.x, fun=point.f, jac=point.g, nit=state.nit, nfev=obj.nfev, njev=obj.njev,
        status=mode, message=EXIT_MODES[mode], success=mode == 0,
        multipliers=state.mult.copy())


def _bounds(ctx: RunContext, n: int) -> tuple[FloatArray, FloatArray]:
    if ctx.bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    return np.asarray(ctx.bounds.lb, dtype=float), np.asarray(ctx.bounds.ub, dtype=float)


def _iterate(problem: _Problem, state: _State, point: _Point, maxiter: int,
             ctx: RunContext) -> tuple[_Point, int]:
    """The main loop; returns the last point and the exit mode."""
    its = ctx.iterations
    state.resets = 1                      # the identity start counts as the first reset
    while True:
        if state.nit >= maxiter:
            return point, 9
        state.nit += 1
        mode, relaxed = _search_direction(problem, state, point)
        if mode != OK:
            its.step(point.x, point.f, point.g)
            return point, mode
        constrained = bool(state.mu)
        lagrangian_grad = point.g - point.jac.T @ state.mult if constrained else point.g
        state.f0 = point.f
        if _kkt_converged(state, point, relaxed):
            its.step(point.x, point.f, point.g)
            return point, 0
        penalty = state.penalty(point)
        slope = state.gs - penalty * state.h4   # the L1 merit's slope along s
        if slope >= 0.0:                  # not a descent direction for the merit
            if not _reset_hessian(state):
                its.step(point.x, point.f, point.g)
                return point, _relaxed_exit(state, point, relaxed)
            continue
        trial = _line_search(problem, state, point, point.f + penalty, slope, its)
        if _step_converged(state, trial, relaxed):
            return trial, 0
        g, jac = problem.derivatives(trial.x)
        new = _Point(trial.x, trial.f, g, trial.c, jac, trial.viol)
        if constrained:
            change = new.g - new.jac.T @ state.mult - lagrangian_grad
        else:
            change = new.g - lagrangian_grad
        point = new
        if not state.hess.damped_bfgs(state.s, change) and not _reset_hessian(state):
            return point, _relaxed_exit(state, point, relaxed)


def _search_direction(problem: _Problem, state: _State, point: _Point) -> tuple[int, bool]:
    """Solve the QP (relaxing it if inconsistent); set ``state.s``/``mult``/``h4``.

    Returns the mode and whether the linearisation was inconsistent (then convergence is
    not declared on this iteration)."""
    if problem.bounded:
        lo, up = problem.lower - point.x, problem.upper - point.x
    else:                                 # infinite (or nan) either way: no bound rows
        lo, up = problem.lower, problem.upper
    hess = state.hess
    state.h4 = 1.0
    qp = solve_qp(hess.unit_lower, hess.diag, point.g, point.jac, point.c, state.n_eq, lo, up,
                  bounded=problem.bounded)
    if qp.mode == SINGULAR_E and state.n_eq == point.x.size:
        qp.mode = INCOMPATIBLE
    if qp.mode == OK:
        state.s = qp.step
        state.mult = qp.multipliers  # type: ignore[assignment]
        return OK, False
    if qp.mode != INCOMPATIBLE:
        return qp.mode, False
    weight = 100.0
    for _ in range(_MAX_RELAXATIONS + 1):
        qp = solve_qp(hess.unit_lower, hess.diag, point.g, point.jac, point.c, state.n_eq,
                      lo, up, slack_weight=weight)
        if qp.mode == OK:
            state.s = qp.step[:-1]
            state.mult = qp.multipliers  # type: ignore[assignment]
            state.h4 = 1.0 - float(qp.step[-1])
            return OK, True
        if qp.mode != INCOMPATIBLE:
            return qp.mode, True
        weight *= 10.0
    return INCOMPATIBLE, True


def _kkt_converged(state: _State, point: _Point, relaxed: bool) -> bool:
    """Update the penalty weights; True when the QP says x is already a KKT point."""
    gs = float(point.g @ state.s)
    state.gs = gs
    if state.mu:                          # the same IEEE operations as the array expressions
        abs_mult = [abs(v) for v in state.mult.tolist()]
        state.mu = [_maximum(a, (u + a) / 2.0) for a, u in zip(abs_mult, state.mu)]
        stationarity = abs(gs) + _reduce_sum([a * abs(v)
                                              for a, v in zip(abs_mult, point.c.tolist())])
    else:
        stationarity = abs(gs) + 0.0
    infeasibility = state.total_violation(point)
    return (stationarity < state.acc and infeasibility < state.acc and not relaxed
            and point.f == point.f)


def _line_search(problem: _Problem, state: _State, point: _Point, start_merit: float,
                 slope: float, its: Any) -> _Point:
    """Backtrack along ``s`` until the L1 merit (``start_merit`` at ``point``) falls by a
    tenth of the predicted decrease (``slope``: its directional derivative)."""
    alpha, line = 1.0, 0
    lower, upper = problem.lower, problem.upper
    while True:
        line += 1
        if alpha != 1.0:                  # (s * 1.0 is s, bit for bit)
            slope *= alpha
            state.s = state.s * alpha
        x = _clip(point.x + state.s, lower, upper)
        f, c = problem.values(x)
        if line == 1:
            its.step(x, f, None)
        trial = _Point(x, f, point.g, c, point.jac)
        change = (f + state.penalty(trial)) - start_merit
        if not (change > slope / 10.0 and line <= _MAX_BACKTRACKS):
            return trial
        alpha = max(slope / (2.0 * (slope - change)), _ALPHA_MIN)


def _norm(v: FloatArray) -> float:
    """``numpy.linalg.norm`` of a contiguous vector, bit for bit."""
    return math.sqrt(float(v.dot(v)))


def _step_converged(state: _State, trial: _Point, relaxed: bool) -> bool:
    small = abs(trial.f - state.f0) < state.acc or _norm(state.s) < state.acc
    feasible = state.total_violation(trial) < state.acc
    return bool(small and feasible and not relaxed and trial.f == trial.f)


def _reset_hessian(state: _State) -> bool:
    """Reset ``B`` to the identity; False once it has been reset too often."""
    state.resets += 1
    if state.resets > _MAX_RESETS:
        return False
    state.hess.reset()
    return True


def _relaxed_exit(state: _State, point: _Point, relaxed: bool) -> int:
    """After too many resets: success under the looser tolerance ``10 * ftol``, else 8."""
    tol = 10.0 * state.acc
    small = abs(point.f - state.f0) < tol or _norm(state.s) < tol
    feasible = state.total_violation(point) < tol
    return 0 if small and feasible and not relaxed and point.f == point.f else 8
