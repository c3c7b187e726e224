"""COBYQA (Ragonneau & Zhang): derivative-free trust-region SQP on quadratic models.

The objective and each nonlinear constraint are modelled by quadratics interpolating them at
``2n + 1`` points, updated by Powell's least Frobenius norm rule (`_cobyqa_models`).  Each iteration
takes a Byrd-Omojokun composite step (`_cobyqa_tcg`) within the trust region, judges it by the
merit function ``f + penalty * ||violation||_2``, replaces one interpolation point, and adjusts the
radius; when steps get short the "resolution" (the radius floor) is lowered from
``initial_tr_radius`` to ``final_tr_radius``, and geometry steps (`_cobyqa_geometry`) keep the set
well poised.  Bounds are always respected; linear constraints are used exactly, nonlinear ones
through their models.  The result follows scipy 1.17's ``method='COBYQA'`` (fields ``x, fun,
nfev, nit, status, success, message, maxcv``; its status codes and messages).  As scipy's, the
callback is called after every evaluation with the best point so far (``nit`` counts the
iterations; the trace records one row per iteration).

Left out: Powell's boundary rotation for the normal step (done for the tangential step only) and
``disp`` output (handled by `minimize`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.callback import Iterations
from ..._core.context import RunContext
from ..._result import OptimizeResult
from .framework import TrustRegionSQP, build_models
from .problem import CobyqaProblem

__all__ = ["minimize_cobyqa", "STATUS_MESSAGES"]

FloatArray = npt.NDArray[np.float64]

RADIUS, TARGET, FIXED, MAX_EVAL, MAX_ITER, INFEASIBLE, LINALG = 0, 1, 2, 5, 6, -1, -2
STATUS_MESSAGES = {
    RADIUS: "The lower bound for the trust-region radius has been reached",
    TARGET: "The target objective function value has been reached",
    FIXED: "All variables are fixed by the bound constraints",
    MAX_EVAL: "The maximum number of function evaluations has been exceeded",
    MAX_ITER: "The maximum number of iterations has been exceeded",
    INFEASIBLE: "The bound constraints are infeasible",
    LINALG: "A linear algebra error occurred",
}


class _Stop(Exception):
    """End of the run with a status (raised from an evaluation)."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass
class _Counters:
    short: int = 0
    very_short: int = 0
    alt_models: int = 0


class _Evaluator:
    """Evaluates at reduced points, enforcing ``maxfev`` and ``f_target``; after each evaluation
    reports the best point so far (at the current ``penalty()``) to the callback, as scipy."""

    def __init__(self, pb: CobyqaProblem, maxfev: int, target: float, tol: float,
                 iterations: Iterations | None = None) -> None:
        self.pb, self.maxfev, self.target, self.tol = pb, maxfev, target, tol
        self.iterations = iterations   # None: no callback to call
        self.penalty: Callable[[], float] = lambda: 0.0

    def __call__(self, z: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        if self.pb.nfev >= self.maxfev:
            raise _Stop(MAX_EVAL)
        f, cub, ceq, cv = self.pb(z)
        if self.iterations is not None:
            x_best, f_best, _ = self.pb.best_eval(self.penalty())
            self.iterations.report_uncounted(x_best, f_best)
        if f <= self.target and cv <= self.tol:
            raise _Stop(TARGET)
        return f, cub, ceq

    def row(self, z: FloatArray) -> FloatArray:
        f, cub, ceq = self(z)
        return np.concatenate(([f], cub, ceq))


def _check_radii(initial: float, final: float) -> None:
    if initial <= 0.0:
        raise ValueError("The initial trust-region radius must be positive.")
    if final < 0.0:
        raise ValueError("The final trust-region radius must be nonnegative.")
    if initial < final:
        raise ValueError("The initial trust-region radius must be greater than or equal to the "
                         "final trust-region radius.")


def minimize_cobyqa(ctx: RunContext, x0: FloatArray, *, maxfev: int | None = None,
                    maxiter: int | None = None, f_target: float = -np.inf,
                    feasibility_tol: float = 1e-8, initial_tr_radius: float = 1.0,
                    final_tr_radius: float = 1e-6, scale: bool = False) -> OptimizeResult:
    """Minimize with COBYQA (derivative-free; bounds, linear and nonlinear constraints).

    Options
    -------
    maxfev : int
        Maximum number of function evaluations. Default is ``500 * n``.
    maxiter : int
        Maximum number of iterations. Default is ``1000 * n``.
    f_target : float
        Stop when a feasible point (see `feasibility_tol`) has an objective value at most this.
        Default is ``-numpy.inf``.
    feasibility_tol : float
        Absolute tolerance for the constraint violation. Default is ``1e-8``.
    initial_tr_radius : float
        Initial trust-region radius, about a tenth of the greatest expected change of the
        variables. Default is ``1.0``.
    final_tr_radius : float
        Final trust-region radius: the accuracy wanted in the variables (``tol`` sets it).
        Default is ``1e-6``.
    scale : bool
        Scale the variables onto ``[-1, 1]`` when every bound is finite. Default is ``False``.
    """
    n_orig = x0.size
    maxfev = int(maxfev) if maxfev is not None else 500 * n_orig
    maxiter = int(maxiter) if maxiter is not None else 1000 * n_orig
    rhobeg, rhoend = float(initial_tr_radius), float(final_tr_radius)
    _check_radii(rhobeg, rhoend)
    if maxfev <= 0:
        raise ValueError("The maximum number of function evaluations must be positive.")
    if maxiter <= 0:
        raise ValueError("The maximum number of iterations must be positive.")
    lb = ctx.lower if ctx.lower is not None else np.full(n_orig, -np.inf)
    ub = ctx.upper if ctx.upper is not None else np.full(n_orig, np.inf)
    obj = ctx.make_objective(use_jac=False, max_nfev=maxfev)
    pb = CobyqaProblem(obj, x0, lb, ub, list(ctx.constraints or ()), float(feasibility_tol),
                       bool(scale))
    if np.any(lb > ub):
        return _result(pb, 0.0, False, INFEASIBLE, 0)
    if pb.n == 0:
        pb(pb.z0)
        return _result(pb, 0.0, True, FIXED, 0)
    max_radius = 0.5 * float(np.min(pb.xu - pb.xl))
    if rhobeg > max_radius:
        rhobeg, rhoend = max_radius, min(rhoend, max_radius)
    its = ctx.iterations
    evaluate = _Evaluator(pb, maxfev, float(f_target), float(feasibility_tol),
                          its if its.has_callback else None)
    try:
        models = build_models(pb, rhobeg, _start_recorder(ctx, pb, evaluate))
        state = TrustRegionSQP(pb, models, pb.m_nl_ub or 0, pb.m_nl_eq or 0, rhobeg)
        evaluate.penalty = lambda: state.penalty
    except _Stop as stop:   # scipy reports an exhausted budget here as the iteration limit
        status = TARGET if stop.status == TARGET else MAX_ITER
        return _result(pb, 0.0, stop.status == TARGET, status, 0)
    except np.linalg.LinAlgError:
        return _result(pb, 0.0, False, LINALG, 0)
    return _main_loop(ctx, pb, state, evaluate, maxiter, rhoend)


def _start_recorder(ctx: RunContext, pb: CobyqaProblem, evaluate: _Evaluator) -> Any:
    """``evaluate.row`` that also records the first point as the start of the iterations."""
    def row(z: FloatArray) -> FloatArray:
        values = evaluate.row(z)
        if pb.nfev == 1:
            ctx.iterations.start(pb.build_x(z), float(values[0]))
        return values
    return row


def _main_loop(ctx: RunContext, pb: CobyqaProblem, state: TrustRegionSQP,
               evaluate: _Evaluator, maxiter: int, rhoend: float) -> OptimizeResult:
    counters = _Counters()
    n_iter = 0
    status: int | None = None
    while status is None:
        if n_iter >= maxiter:
            status = MAX_ITER
            break
        n_iter += 1
        try:
            status = _iteration(state, evaluate, counters, rhoend)
        except _Stop as stop:
            status = stop.status
        except np.linalg.LinAlgError:
            status = LINALG
        x_best, f_best, _ = pb.best_eval(state.penalty)
        ctx.iterations.count_unreported(x_best, f_best)  # the callback ran at each evaluation
    return _result(pb, state.penalty, status in (RADIUS, TARGET), status, n_iter)


def _iteration(state: TrustRegionSQP, evaluate: _Evaluator, counters: _Counters,
               rhoend: float) -> int | None:
    """One COBYQA iteration; returns a final status or None to go on."""
    if np.linalg.norm(state.x_best - state.models.x_base) >= 10.0 * state.radius:
        state.models.shift_base(state.x_best.copy())
    radius_save = state.radius
    normal, tangential = state.trust_region_step()
    step = normal + tangential
    s_norm = float(np.linalg.norm(step))
    k_new = -1
    if s_norm <= 0.5 * state.resolution:
        enhance, improve, k_new = _short_step(state, counters, radius_save, s_norm)
    elif not state.increase_penalty(step):
        enhance = improve = False   # the best point changed: restart the iteration
    else:
        enhance, improve, k_new = _trial_step(state, evaluate, counters, step, normal,
                                              radius_save)
    if enhance:
        if state.resolution <= rhoend:
            return RADIUS
        state.enhance_resolution(rhoend)
        state.decrease_penalty()
    if improve:
        geo = state.geometry_step(k_new)
        f, cub, ceq = evaluate(state.x_best + geo)
        state.models.replace(k_new, state.x_best + geo, np.concatenate(([f], cub, ceq)))
        state.set_best_index()
    return None


def _short_step(state: TrustRegionSQP, counters: _Counters, radius_save: float,
                s_norm: float) -> tuple[bool, bool, int]:
    """A step too short to evaluate: shrink the radius, maybe lower the resolution."""
    state.radius = 0.1 * state.radius
    if radius_save > state.resolution:
        counters.short = counters.very_short = 0
    else:
        counters.short += 1
        counters.very_short += 1
        if s_norm > 0.1 * state.resolution:
            counters.very_short = 0
    if counters.short >= 5 or counters.very_short >= 3:
        counters.short = counters.very_short = 0
        return True, False, -1
    k_new, dist = state.index_to_remove()
    return False, dist > max(state.radius, 2.0 * state.resolution), k_new


def _trial_step(state: TrustRegionSQP, evaluate: _Evaluator, counters: _Counters,
                step: FloatArray, normal: FloatArray, radius_save: float
                ) -> tuple[bool, bool, int]:
    """Evaluate the trial step (with a second-order correction when it helps), update the
    interpolation set, the radius, the models and the multipliers."""
    x_best = state.x_best
    f, cub, ceq = evaluate(x_best + step)
    if (state.pb.kind == "nonlinearly constrained"
            and state.merit(x_best + step, f, cub, ceq) > state.merit(x_best, *state.best_values)
            and np.linalg.norm(normal) > 0.64 * state.radius):
        soc = state.soc_step(step)
        if np.linalg.norm(soc) > 0.0:
            step = step + soc
            f, cub, ceq = evaluate(x_best + step)
    ratio = state.reduction_ratio(step, f, cub, ceq)
    x_new = x_best + step
    k_new = state.index_to_remove(x_new)[0]
    ill = state.models.replace(k_new, x_new, np.concatenate(([f], cub, ceq)))
    state.set_best_index()
    state.update_radius(step, ratio)
    if state.radius <= state.resolution:
        _maybe_reset_models(state, counters, ratio)
    state.set_multipliers(x_new)
    k_new, dist = state.index_to_remove()
    improve = ill or (ratio <= 0.1 and dist > max(state.radius, 2.0 * state.resolution))
    enhance = radius_save <= state.resolution and ratio <= 0.1 and not improve
    return enhance, improve, k_new


def _maybe_reset_models(state: TrustRegionSQP, counters: _Counters, ratio: float) -> None:
    """Replace the models by fresh least-norm ones after three poor steps at the resolution
    when the fresh gradient is much smaller (Powell's NEWUOA alternative model)."""
    if ratio >= 0.01:
        counters.alt_models = 0
        return
    counters.alt_models += 1
    x = state.x_best
    grad = state.models.gradient(x)[0]
    if np.linalg.norm(grad) < 10.0 * np.linalg.norm(state.models.alt_fun_gradient(x)):
        counters.alt_models = 0
    if counters.alt_models >= 3:
        state.models.reset()
        counters.alt_models = 0


def _result(pb: CobyqaProblem, penalty: float, success: bool, status: int,
            nit: int) -> OptimizeResult:
    x, fun, maxcv = pb.best_eval(penalty)
    success = bool(success and np.isfinite(fun) and np.isfinite(maxcv))
    if status != TARGET:
        success = success and maxcv <= pb.feasibility_tol
    return OptimizeResult(x=np.array(x, dtype=float), fun=fun, nfev=pb.nfev, nit=nit,
                          status=status, success=success, message=STATUS_MESSAGES[status],
                          maxcv=maxcv)
