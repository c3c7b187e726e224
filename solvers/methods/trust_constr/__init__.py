"""trust-constr: trust-region SQP with an interior point method for inequalities (scipy 1.17).

Equality constraints only (or none): the Byrd–Omojokun SQP method of `solvers.methods.trust_constr.sqp`
('equality_constrained_sqp').  Any inequality or bound: the barrier method of
`solvers.methods.trust_constr.barrier` on top of it ('tr_interior_point').  The run is monitored as scipy
monitors it: every SQP iteration (including the first, and the first of each barrier problem)
counts in ``nit``, updates the state, calls ``callback(xk, state)`` (or
``callback(intermediate_result=state)``), and tests ``gtol`` (optimality and violation),
``xtol`` (trust radius, and for the barrier method ``barrier_tol``) and ``maxiter``.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._result import OptimizeResult
from .barrier import BarrierProblem, tr_interior_point
from .canonical import Canonical, Prepared
from .fixed import fixed_by_bounds, solve_without_fixed
from .report import Report
from .setup import (
    ObjectiveHessian,
    build_objective,
    lagrangian_hessian,
    prepare_constraints,
    strict_bounds,
    widened_bounds,
)
from .sqp import SQPProblem, equality_constrained_sqp

__all__ = ["minimize_trust_constr", "TERMINATION_MESSAGES"]

FloatArray = npt.NDArray[np.float64]

TERMINATION_MESSAGES = {
    0: "The maximum number of function evaluations is exceeded.",
    1: "`gtol` termination condition is satisfied.",
    2: "`xtol` termination condition is satisfied.",
    3: "`callback` raised `StopIteration`.",
    4: "Constraint violation exceeds 'gtol'",
}


def _callback_caller(callback: Callable[..., Any] | None
                     ) -> Callable[[FloatArray, OptimizeResult], Any] | None:
    """scipy's protocol: ``callback(intermediate_result=state)`` when that is the only
    parameter, else ``callback(xk, state)``; a callback taking one positional argument only is
    called as ``callback(xk)`` (scipy would raise `TypeError` there)."""
    if callback is None:
        return None
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        return lambda x, state: callback(x, state)
    if set(params) == {"intermediate_result"}:
        return lambda x, state: callback(intermediate_result=state)
    positional = [p for p in params.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    varargs = any(p.kind == p.VAR_POSITIONAL for p in params.values())
    if len(positional) == 1 and not varargs:
        return lambda x, state: callback(x)
    return lambda x, state: callback(x, state)


class _Monitor:
    """The run's state (scipy's OptimizeResult ``state``) and its stopping rules."""

    def __init__(self, ctx: RunContext, obj: Any, hess: ObjectiveHessian,
                 prepared: list[Prepared], method: str, start: tuple[float, FloatArray], *,
                 gtol: float, xtol: float,
                 barrier_tol: float, maxiter: int, verbose: int) -> None:
        self.obj, self.hess, self.prepared, self.method = obj, hess, prepared, method
        self.its = ctx.iterations
        self.callback = _callback_caller(self.its.detach_callback())
        self.gtol, self.xtol, self.barrier_tol, self.maxiter = gtol, xtol, barrier_tol, maxiter
        self.report = Report(verbose, method)
        n_con = len(prepared)
        self.state = OptimizeResult(
            nit=0, nfev=0, njev=0, nhev=0, cg_niter=0, cg_stop_cond=0,
            fun=start[0], grad=start[1], lagrangian_grad=np.copy(start[1]),
            constr=[np.copy(p.fun.f) for p in prepared], jac=[np.copy(p.fun.J) for p in prepared],
            constr_nfev=[0] * n_con, constr_njev=[0] * n_con, constr_nhev=[0] * n_con,
            v=[np.copy(p.fun.v) for p in prepared], method=method)
        self.start = time.time()

    def _update(self, x: FloatArray, failed: bool, radius: float, penalty: float,
                cg_info: dict[str, Any]) -> None:
        state, obj = self.state, self.obj
        state.nit += 1
        state.nfev, state.njev, state.nhev = obj.nfev, obj.njev, self.hess.nhev
        state.constr_nfev = [p.fun.nfev for p in self.prepared]
        state.constr_njev = [p.fun.njev for p in self.prepared]
        state.constr_nhev = [p.fun.nhev for p in self.prepared]
        if not failed:
            state.x = np.array(x, dtype=float)
            state.fun, state.grad = obj.fun_and_grad(state.x)
            state.v = [np.copy(p.fun.v) for p in self.prepared]
            state.constr = [np.copy(p.fun.f) for p in self.prepared]
            state.jac = [np.copy(p.fun.J) for p in self.prepared]
            lagrangian_grad = np.copy(state.grad)
            for p in self.prepared:
                lagrangian_grad += p.fun.J.T @ p.fun.v
            state.lagrangian_grad = lagrangian_grad
            state.optimality = float(np.linalg.norm(lagrangian_grad, np.inf))
            state.constr_violation = max([0.0] + [p.violation() for p in self.prepared])
        state.execution_time = time.time() - self.start
        state.tr_radius, state.constr_penalty = radius, penalty
        state.cg_niter += cg_info["niter"]
        state.cg_stop_cond = cg_info["stop_cond"]

    def stop(self, x: FloatArray, failed: bool, radius: float, penalty: float,
             cg_info: dict[str, Any], barrier: tuple[float, float] | None = None) -> bool:
        """Update the state for one iteration and say whether the run ends (sets ``status``)."""
        state = self.state
        self._update(x, failed, radius, penalty, cg_info)
        if barrier is not None:
            state.barrier_parameter, state.barrier_tolerance = barrier
        self.report.row(state)
        self.its.step(state.x, state.fun, state.grad)
        state.status = None
        state.niter = state.nit
        if self.callback is not None:
            try:
                halt = self.callback(np.copy(state.x), state)
            except StopIteration:
                halt = True
            if halt:
                state.status = 3
                return True
        small_radius = state.tr_radius < self.xtol
        if barrier is not None:
            small_radius = small_radius and state.barrier_parameter < self.barrier_tol
        if state.optimality < self.gtol and state.constr_violation < self.gtol:
            state.status = 1
        elif small_radius:
            state.status = 2
        elif state.nit >= self.maxiter:
            state.status = 0
        return state.status in (0, 1, 2, 3)


def minimize_trust_constr(ctx: RunContext, x0: FloatArray, *, gtol: float = 1e-8,
                          xtol: float = 1e-8, barrier_tol: float = 1e-8,
                          sparse_jacobian: bool | None = None, maxiter: int = 1000,
                          verbose: int = 0, finite_diff_rel_step: Any = None,
                          initial_constr_penalty: float = 1.0, initial_tr_radius: float = 1.0,
                          initial_barrier_parameter: float = 0.1,
                          initial_barrier_tolerance: float = 0.1,
                          factorization_method: str | None = None,
                          workers: Any = None) -> OptimizeResult:
    """Minimize a scalar function subject to constraints (trust-region SQP / interior point).

    Options
    -------
    gtol : float
        Stop when the infinity norm of the Lagrangian gradient and the constraint violation are
        both below ``gtol``.
    xtol : float
        Stop when the trust radius is below ``xtol`` (and, with inequalities, the barrier
        parameter below ``barrier_tol``).
    barrier_tol : float
        Barrier parameter threshold for the ``xtol`` stop of the interior point method.
    sparse_jacobian : bool or None
        Jacobians are dense here; True (or bounds without other constraints, as scipy's
        default) selects the augmented-system projections scipy uses for sparse Jacobians.
    maxiter : int
        Maximum number of iterations (every SQP iteration, accepted or not, counts).
    verbose : {0, 1, 2, 3}
        0 silent; 1 termination report; 2 a line per iteration; 3 with penalty, barrier
        parameter and CG stop condition.
    finite_diff_rel_step : float or array_like, optional
        Relative step of the finite-difference gradient (and Hessian products).
    initial_constr_penalty : float
        Initial penalty of the merit function ``f + penalty * |c|``.
    initial_tr_radius : float
        Initial trust radius.
    initial_barrier_parameter, initial_barrier_tolerance : float
        Initial barrier parameter and barrier-problem tolerance (both shrink by 0.2).
    factorization_method : {None, 'QRFactorization', 'SVDFactorization', 'AugmentedSystem',
        'NormalEquation'}
        Factorization of the constraint Jacobian for the projections (all dense here; None:
        QR, or the augmented system when scipy would use sparse Jacobians).
    workers : optional
        Accepted for compatibility; finite differences are evaluated serially here.
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    fixed = fixed_by_bounds(ctx.bounds)
    if fixed is not None and ctx.bounds is not None:
        def run_on_free_variables(reduced: RunContext, z0: FloatArray) -> OptimizeResult:
            return minimize_trust_constr(
                reduced, z0, gtol=gtol, xtol=xtol, barrier_tol=barrier_tol,
                sparse_jacobian=sparse_jacobian, maxiter=maxiter, verbose=verbose,
                finite_diff_rel_step=fixed.free_part(finite_diff_rel_step),
                initial_constr_penalty=initial_constr_penalty,
                initial_tr_radius=initial_tr_radius,
                initial_barrier_parameter=initial_barrier_parameter,
                initial_barrier_tolerance=initial_barrier_tolerance,
                factorization_method=factorization_method, workers=workers)
        return solve_without_fixed(ctx, x0, ctx.bounds, fixed, run_on_free_variables,
                                   _callback_caller)
    n = x0.size
    bounds = widened_bounds(ctx.bounds) if ctx.bounds is not None else None
    strict = strict_bounds(bounds, n)
    obj = build_objective(ctx, strict, finite_diff_rel_step)
    hess = ObjectiveHessian(ctx, obj, n, finite_diff_rel_step)
    fobj = hess.source.watch(obj)
    f0, g0 = fobj.fun_and_grad(x0)
    ctx.iterations.start(x0, f0, g0)
    prepared = prepare_constraints(list(ctx.constraints or ()), bounds, x0, strict)
    canonical = Canonical(prepared, n)
    if ctx.constraints:
        sparse = bool(sparse_jacobian) or any(getattr(p.fun, "returned_sparse", False)
                                              for p in prepared)
    else:
        sparse = True if sparse_jacobian is None else bool(sparse_jacobian)
    lagr_hess = lagrangian_hessian(hess, canonical)
    method = "equality_constrained_sqp" if canonical.n_ineq == 0 else "tr_interior_point"
    monitor = _Monitor(ctx, obj, hess, prepared, method, (f0, g0), gtol=gtol, xtol=xtol,
                       barrier_tol=barrier_tol, maxiter=maxiter, verbose=verbose)
    monitor.report.header()
    c_eq0, c_ineq0, J_eq0, J_ineq0 = canonical.initial()
    if method == "equality_constrained_sqp":
        _run_sqp(fobj, canonical, lagr_hess, monitor, x0, f0, g0, c_eq0, J_eq0,
                 initial_constr_penalty, initial_tr_radius, factorization_method, sparse)
    else:
        prob = BarrierProblem(fobj.fun, fobj.grad, canonical.fun, canonical.jac, lagr_hess,
                              n, canonical.n_eq, canonical.n_ineq, canonical.keep_feasible,
                              *strict)

        def global_stop(x: FloatArray, failed: bool, radius: float, penalty: float,
                        cg_info: dict[str, Any], mu: float, tol: float) -> bool:
            return monitor.stop(x, failed, radius, penalty, cg_info, barrier=(mu, tol))

        tr_interior_point(prob, x0, f0, g0, c_ineq0, J_ineq0, c_eq0, J_eq0,
                          global_stop=global_stop, xtol=xtol, mu0=initial_barrier_parameter,
                          tol0=initial_barrier_tolerance, penalty0=initial_constr_penalty,
                          radius0=initial_tr_radius, factorization=factorization_method,
                          sparse=sparse)
    return _finish(monitor)


def _run_sqp(fobj: Any, canonical: Canonical, lagr_hess: Any, monitor: _Monitor,
             x0: FloatArray, f0: float, g0: FloatArray, c_eq0: FloatArray, J_eq0: FloatArray,
             penalty: float, radius: float, factorization: str | None, sparse: bool) -> None:
    def fun_and_constr(x: FloatArray) -> tuple[float, FloatArray]:
        return fobj.fun(x), canonical.fun(x)[0]

    def grad_and_jac(x: FloatArray) -> tuple[FloatArray, FloatArray]:
        return fobj.grad(x), canonical.jac(x)[0]

    def stop(x: FloatArray, failed: bool, optimality: float, violation: float, tr_radius: float,
             penalty: float, cg_info: dict[str, Any]) -> bool:
        return monitor.stop(x, failed, tr_radius, penalty, cg_info)

    problem = SQPProblem(fun_and_constr, grad_and_jac, lagr_hess, stop,
                         factorization=factorization, sparse=sparse)
    equality_constrained_sqp(problem, x0, f0, g0, c_eq0, J_eq0, penalty=penalty, radius=radius)


def _finish(monitor: _Monitor) -> OptimizeResult:
    result = monitor.state
    if result.status in (1, 2) and result.constr_violation > monitor.gtol:
        result.status = 4
    result.success = result.status in (1, 2)
    result.message = TERMINATION_MESSAGES[result.status]
    result.niter = result.nit
    monitor.report.footer(result)
    return result
