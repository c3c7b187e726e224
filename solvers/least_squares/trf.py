"""Trust Region Reflective (``method='trf'``), the default least-squares method.

Each iteration solves a trust-region subproblem in variables scaled by ``x_scale`` and, with
bounds, by the Coleman-Li vector ``v`` (the distance to the bound the gradient points at);
the bound-constrained case augments the model with the diagonal term ``g dv`` and picks the
best of three steps: the trust-region step cut at the first bound, its reflection off that
bound, and the scaled anti-gradient (`select_step`).  The subproblem is solved exactly from one
SVD per iteration ('exact') or in the 2-d subspace spanned by the gradient and an LSMR
Gauss-Newton step ('lsmr').  Iterates stay strictly inside the bounds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .common import (build_quadratic_1d, check_termination, coleman_li_scaling,
                     evaluate_quadratic, find_active_constraints, in_bounds,
                     intersect_trust_region, jac_scale, make_strictly_feasible,
                     minimize_quadratic_1d, solve_lsq_trust_region, solve_trust_region_2d,
                     step_size_to_bound, update_tr_radius, variable_scale)
from .losses import cost_of, linearize
from .lsmr import lsmr
from .monitor import Monitor
from .residuals import Residuals
from .settings import Outcome, Settings

__all__ = ["trf", "select_step"]

FloatArray = npt.NDArray[np.float64]
Solver = Callable[[float, float], tuple[FloatArray, float]]


@dataclass(frozen=True)
class _Model:
    """The scaled quadratic model of one iteration: step = ``d * step_h``."""

    d: FloatArray
    J_h: FloatArray
    g_h: FloatArray
    diag_h: FloatArray | None
    solve: Solver  # (Delta, alpha) -> (p_h, alpha)


def _exact_solver(J_h: FloatArray, f: FloatArray, diag_h: FloatArray | None, m: int
                  ) -> Solver:
    n = J_h.shape[1]
    if diag_h is None:
        A, rhs = J_h, f
    else:
        A = np.vstack((J_h, np.diag(diag_h**0.5)))
        rhs = np.concatenate((f, np.zeros(n)))
    U, s, VT = np.linalg.svd(A, full_matrices=False)
    V, uf = VT.T, U.T.dot(rhs)

    def solve(delta: float, alpha: float) -> tuple[FloatArray, float]:
        p_h, alpha, _ = solve_lsq_trust_region(n, m, uf, s, V, delta, initial_alpha=alpha)
        return p_h, alpha
    return solve


def _lsmr_solver(J_h: FloatArray, f: FloatArray, g_h: FloatArray, diag_h: FloatArray | None,
                 delta: float, options: dict[str, Any]) -> Solver:
    n = J_h.shape[1]
    opts = dict(options)
    regularize = bool(opts.pop("regularize", True))
    reg_term = 0.0
    if regularize:
        a, b, _ = build_quadratic_1d(J_h, g_h, -g_h, diag=diag_h)
        ag_value = minimize_quadratic_1d(a, b, 0, delta / float(np.linalg.norm(g_h)))[1]
        reg_term = -ag_value / delta**2
    if diag_h is None:
        damp = float(opts.pop("damp", 0.0))
        gn_h = lsmr(J_h, f, damp=(damp**2 + reg_term) ** 0.5, **opts)
    else:  # scipy passes a 'damp' option on to LSMR here
        A = np.vstack((J_h, np.diag((diag_h + reg_term) ** 0.5)))
        gn_h = lsmr(A, np.concatenate((f, np.zeros(n))), **opts)
    S, _ = np.linalg.qr(np.vstack((g_h, gn_h)).T)
    JS = J_h.dot(S)
    B_S = JS.T.dot(JS) + (0.0 if diag_h is None else np.dot(S.T * diag_h, S))
    g_S = S.T.dot(g_h)

    def solve(delta: float, alpha: float) -> tuple[FloatArray, float]:
        return S.dot(solve_trust_region_2d(B_S, g_S, delta)[0]), alpha
    return solve


def _model(J: FloatArray, f: FloatArray, g: FloatArray, v: FloatArray | None,
           dv: FloatArray | None, scale: FloatArray, delta: float,
           settings: Settings) -> _Model:
    """The scaled model at the current point; ``v``/``dv`` None without bounds."""
    if v is None or dv is None:
        d, diag_h = scale, None
    else:
        d, diag_h = v**0.5 * scale, g * dv * scale
    J_h, g_h = J * d, d * g
    if settings.tr_solver == "exact":
        solve = _exact_solver(J_h, f, diag_h, J.shape[0])
    else:
        solve = _lsmr_solver(J_h, f, g_h, diag_h, delta, settings.tr_options)
    return _Model(d, J_h, g_h, diag_h, solve)


def select_step(x: FloatArray, model: _Model, p_h: FloatArray, delta: float, lb: FloatArray,
                ub: FloatArray, theta: float) -> tuple[FloatArray, FloatArray, float]:
    """The best of the cut trust-region step, its reflection and the anti-gradient step.

    Returns ``(step, step_h, predicted_reduction)``.
    """
    J_h, g_h, diag_h, d = model.J_h, model.g_h, model.diag_h, model.d
    p = d * p_h
    if in_bounds(x + p, lb, ub):
        return p, p_h, -evaluate_quadratic(J_h, g_h, p_h, diag=diag_h)
    p_stride, hits = step_size_to_bound(x, p, lb, ub)
    r_h = p_h.copy()
    r_h[hits.astype(bool)] *= -1
    r = d * r_h
    p, p_h = p * p_stride, p_h * p_stride
    _, to_tr = intersect_trust_region(p_h, r_h, delta)
    to_bound, _ = step_size_to_bound(x + p, r, lb, ub)
    r_stride = min(to_bound, to_tr)
    if r_stride > 0:
        r_lower = (1 - theta) * p_stride / r_stride
        r_upper = theta * to_bound if r_stride == to_bound else to_tr
    else:
        r_lower, r_upper = 0.0, -1.0
    r_value = np.inf
    if r_lower <= r_upper:
        a, b, c = build_quadratic_1d(J_h, g_h, r_h, s0=p_h, diag=diag_h)
        r_stride, r_value = minimize_quadratic_1d(a, b, r_lower, r_upper, c=c)
        r_h = p_h + r_h * r_stride
        r = r_h * d
    p, p_h = p * theta, p_h * theta
    p_value = evaluate_quadratic(J_h, g_h, p_h, diag=diag_h)
    ag_h = -g_h
    ag = d * ag_h
    to_tr = delta / float(np.linalg.norm(ag_h))
    to_bound, _ = step_size_to_bound(x, ag, lb, ub)
    ag_stride = theta * to_bound if to_bound < to_tr else to_tr
    a, b, _ = build_quadratic_1d(J_h, g_h, ag_h, diag=diag_h)
    ag_stride, ag_value = minimize_quadratic_1d(a, b, 0, ag_stride)
    if p_value < r_value and p_value < ag_value:
        return p, p_h, -p_value
    if r_value < p_value and r_value < ag_value:
        return r, r_h, -r_value
    return ag * ag_stride, ag_h * ag_stride, -ag_value


def trf(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray,
        lb: FloatArray, ub: FloatArray, settings: Settings, monitor: Monitor) -> Outcome:
    """Run Trust Region Reflective from ``x0`` (strictly feasible) with ``f0``, ``J0`` known."""
    bounded = not (np.all(lb == -np.inf) and np.all(ub == np.inf))
    x, f_true, nfev, njev = x0.copy(), f0.copy(), 1, 1
    J, f, cost = linearize(J0, f0.copy(), settings.loss)
    g = J.T.dot(f)
    by_jac = isinstance(settings.x_scale, str)
    scale, scale_inv = variable_scale(J, settings.x_scale)
    if bounded:
        v, dv = coleman_li_scaling(x, g, lb, ub)
        v[dv != 0] *= scale_inv[dv != 0]
        delta = float(np.linalg.norm(x0 * scale_inv / v**0.5))
    else:
        delta = float(np.linalg.norm(x0 * scale_inv))
    delta = 1.0 if delta == 0 else delta
    alpha, status, iteration = 0.0, None, 0
    step_norm: float | None = None
    reduction: float | None = None
    while True:
        v_opt: FloatArray | None = None
        dv_opt: FloatArray | None = None
        if bounded:
            v_opt, dv_opt = coleman_li_scaling(x, g, lb, ub)
            g_norm = float(np.linalg.norm(g * v_opt, ord=np.inf))
        else:
            g_norm = float(np.linalg.norm(g, ord=np.inf))
        if g_norm < settings.gtol:
            status = 1
        monitor.line(iteration, x, nfev, cost, reduction, step_norm, g_norm)
        if status is not None or nfev == settings.max_nfev:
            break
        if v_opt is not None and dv_opt is not None:
            v_opt[dv_opt != 0] *= scale_inv[dv_opt != 0]
        model = _model(J, f, g, v_opt, dv_opt, scale, delta, settings)
        theta = max(0.995, 1 - g_norm)
        reduction = -1.0
        while reduction <= 0 and nfev < settings.max_nfev:
            p_h, alpha = model.solve(delta, alpha)
            if bounded:
                step, step_h, predicted = select_step(x, model, p_h, delta, lb, ub, theta)
                x_new = make_strictly_feasible(x + step, lb, ub, rstep=0)
            else:
                step_h = p_h
                predicted = -evaluate_quadratic(model.J_h, model.g_h, step_h)
                step = model.d * step_h
                x_new = x + step
            f_new = residuals.values(x_new)
            nfev += 1
            step_h_norm = float(np.linalg.norm(step_h))
            if not np.all(np.isfinite(f_new)):
                delta = 0.25 * step_h_norm
                continue
            cost_new = cost_of(f_new, settings.loss)
            reduction = cost - cost_new
            delta_new, ratio = update_tr_radius(delta, reduction, predicted, step_h_norm,
                                                step_h_norm > 0.95 * delta)
            step_norm = float(np.linalg.norm(step))
            status = check_termination(reduction, cost, step_norm, float(np.linalg.norm(x)),
                                       ratio, settings.ftol, settings.xtol)
            if status is not None:
                break
            alpha *= delta / delta_new
            delta = delta_new
        if reduction > 0:
            x, f_true, cost = x_new, f_new.copy(), cost_new
            J, f, _ = linearize(residuals.jacobian(x), f_new, settings.loss)
            njev += 1
            g = J.T.dot(f)
            if by_jac:
                scale, scale_inv = jac_scale(J, scale_inv)
        else:
            step_norm, reduction = 0.0, 0.0
        iteration += 1
        if monitor.halt(x, f_true, iteration, nfev, cost):
            status = -2
            break
    active = (find_active_constraints(x, lb, ub, rtol=settings.xtol) if bounded
              else np.zeros_like(x))
    return Outcome(x=x, cost=cost, fun=f_true, jac=J, grad=g, optimality=g_norm,
                   active_mask=active, nfev=nfev, njev=njev,
                   status=0 if status is None else status)
