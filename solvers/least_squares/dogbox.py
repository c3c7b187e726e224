"""Dogleg in a rectangular trust region (``method='dogbox'``).

The trust region is a box (``Delta * x_scale`` per variable) intersected with the bounds.
Variables on a bound with the gradient pushing outward are frozen for the iteration; on the
free ones a dogleg path runs from the Cauchy point to the Gauss-Newton step (``lstsq`` for
'exact', LSMR for 'lsmr') and stops where it leaves the box.  Iterates may lie on the bounds.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .common import (build_quadratic_1d, check_termination, evaluate_quadratic, in_bounds,
                     jac_scale, minimize_quadratic_1d, step_size_to_bound, update_tr_radius,
                     variable_scale)
from .losses import cost_of, linearize
from .lsmr import lsmr
from .monitor import Monitor
from .residuals import Residuals
from .settings import Outcome, Settings

__all__ = ["dogbox", "dogleg_step"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]


def dogleg_step(x: FloatArray, newton_step: FloatArray, g: FloatArray, a: float, b: float,
                tr_bounds: FloatArray, lb: FloatArray, ub: FloatArray
                ) -> tuple[FloatArray, IntArray, bool]:
    """The dogleg step in the box ``|s| <= tr_bounds`` intersected with ``[lb, ub] - x``.

    ``a t**2 + b t`` is the model along ``-g``.  Returns the step, which original bounds it
    reaches (-1 lower, 1 upper, 0 none) and whether it reached the trust-region box.
    """
    lb_total = np.maximum(lb - x, -tr_bounds)
    ub_total = np.minimum(ub - x, tr_bounds)
    orig_l, orig_u = lb_total == lb - x, ub_total == ub - x
    tr_l, tr_u = lb_total == -tr_bounds, ub_total == tr_bounds
    bound_hits = np.zeros_like(x, dtype=int)
    if in_bounds(newton_step, lb_total, ub_total):
        return newton_step, bound_hits, False
    to_bounds, _ = step_size_to_bound(np.zeros_like(x), -g, lb_total, ub_total)
    cauchy_step = -minimize_quadratic_1d(a, b, 0, to_bounds)[0] * g
    step_diff = newton_step - cauchy_step
    step_size, hits = step_size_to_bound(cauchy_step, step_diff, lb_total, ub_total)
    bound_hits[(hits < 0) & orig_l] = -1
    bound_hits[(hits > 0) & orig_u] = 1
    tr_hit = bool(np.any(((hits < 0) & tr_l) | ((hits > 0) & tr_u)))
    return cauchy_step + step_size * step_diff, bound_hits, tr_hit


def _newton(J: FloatArray, f: FloatArray, g: FloatArray, scale: FloatArray,
            active: npt.NDArray[np.bool_], settings: Settings
            ) -> tuple[FloatArray, float, float]:
    """Gauss-Newton step on the free variables and the anti-gradient model ``(a, b)``."""
    free = ~active
    if settings.tr_solver == "exact":
        J_free = J[:, free]
        newton = np.asarray(np.linalg.lstsq(J_free, -f, rcond=-1)[0], dtype=float)
        a, b, _ = build_quadratic_1d(J_free, g[free], -g[free])
        return newton, a, b
    A = J * scale
    A[:, active] = 0.0
    newton = -lsmr(A, f, **settings.tr_options)[free] * scale[free]
    a, b, _ = build_quadratic_1d(J, g, -g)
    return newton, a, b


def dogbox(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray,
           lb: FloatArray, ub: FloatArray, settings: Settings, monitor: Monitor) -> Outcome:
    """Run the dogbox method from ``x0`` (inside the bounds) with ``f0``, ``J0`` known."""
    f_true, nfev, njev = f0.copy(), 1, 1
    J, f, cost = linearize(J0, f0.copy(), settings.loss)
    g = J.T.dot(f)
    by_jac = isinstance(settings.x_scale, str)
    scale, scale_inv = variable_scale(J, settings.x_scale)
    delta = float(np.linalg.norm(x0 * scale_inv, ord=np.inf))
    delta = 1.0 if delta == 0 else delta
    on_bound = np.zeros_like(x0, dtype=int)
    on_bound[x0 == lb] = -1
    on_bound[x0 == ub] = 1
    x = x0.copy()
    status, iteration = None, 0
    step_norm: float | None = None
    reduction: float | None = None
    while True:
        active = on_bound * g < 0
        free = ~active
        g_free, g_full = g[free], g.copy()
        g = np.where(active, 0.0, g)
        g_norm = float(np.linalg.norm(g, ord=np.inf))
        if g_norm < settings.gtol:
            status = 1
        monitor.line(iteration, x, nfev, cost, reduction, step_norm, g_norm)
        if status is not None or nfev == settings.max_nfev:
            break
        newton, a, b = _newton(J, f, g, scale, active, settings)
        reduction = -1.0
        while reduction <= 0 and nfev < settings.max_nfev:
            step_free, on_bound_free, tr_hit = dogleg_step(
                x[free], newton, g_free, a, b, delta * scale[free], lb[free], ub[free])
            step = np.zeros_like(x)
            step[free] = step_free
            if settings.tr_solver == "exact":
                predicted = -evaluate_quadratic(J[:, free], g_free, step_free)
            else:
                predicted = -evaluate_quadratic(J, g, step)
            x_new = np.clip(x + step, lb, ub)
            f_new = residuals.values(x_new)
            nfev += 1
            step_h_norm = float(np.linalg.norm(step * scale_inv, ord=np.inf))
            if not np.all(np.isfinite(f_new)):
                delta = 0.25 * step_h_norm
                continue
            cost_new = cost_of(f_new, settings.loss)
            reduction = cost - cost_new
            delta, ratio = update_tr_radius(delta, reduction, predicted, step_h_norm, tr_hit)
            step_norm = float(np.linalg.norm(step))
            status = check_termination(reduction, cost, step_norm, float(np.linalg.norm(x)),
                                       ratio, settings.ftol, settings.xtol)
            if status is not None:
                break
        if reduction > 0:
            on_bound[free] = on_bound_free
            x = x_new
            x[on_bound == -1] = lb[on_bound == -1]
            x[on_bound == 1] = ub[on_bound == 1]
            f_true, cost = f_new.copy(), cost_new
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
    return Outcome(x=x, cost=cost, fun=f_true, jac=J, grad=g_full, optimality=g_norm,
                   active_mask=on_bound, nfev=nfev, njev=njev,
                   status=0 if status is None else status)
