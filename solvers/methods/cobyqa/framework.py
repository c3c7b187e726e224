"""COBYQA's trust-region SQP framework: merit function, steps, radius and penalty management.

`TrustRegionSQP` holds the models of `_cobyqa_models`, the best interpolation point (least merit
``f + penalty * ||violation||_2``), least-squares Lagrange multipliers, the trust-region radius
``radius`` and the lower bound ``resolution`` it may not go under until the resolution is
"enhanced" (Powell's rho).  Steps follow Byrd-Omojokun: a normal step reducing the linearised
constraint violation in ``0.8 * radius``, then a tangential step on the Lagrangian model keeping the
linearised constraints at least as satisfied.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import numpy.typing as npt

from ..._core.nnls import nnls
from .geometry import cauchy_geometry, spider_geometry
from .models import ModelSet, initial_points
from .problem import CobyqaProblem, arrays_tol
from .tcg import normal_step, null_space, tangential_step

__all__ = ["TrustRegionSQP", "least_squares_multipliers"]

FloatArray = npt.NDArray[np.float64]
TINY = float(np.finfo(float).tiny)
EPS = float(np.finfo(float).eps)
BYRD_OMOJOKUN = 0.8


def least_squares_multipliers(jac_ineq: FloatArray, jac_eq: FloatArray, grad: FloatArray
                              ) -> tuple[FloatArray, FloatArray]:
    """``(lam >= 0, mu)`` minimising ``||grad + jac_ineq^T lam + jac_eq^T mu||``.

    The free ``mu`` are eliminated by projecting onto the orthogonal complement of the range of
    ``jac_eq^T``; the remaining non-negative least squares is Lawson-Hanson's NNLS.
    """
    n = grad.size
    comp = null_space(jac_eq, n)            # columns orthogonal to every equality gradient
    lam = np.zeros(jac_ineq.shape[0])
    if lam.size:
        e = comp.T @ jac_ineq.T
        lam, _, _ = nnls(e, -(comp.T @ grad), max(3 * lam.size, 50))
    mu: FloatArray = np.zeros(jac_eq.shape[0])
    if mu.size:
        mu = cast(FloatArray, np.linalg.lstsq(jac_eq.T, -(grad + jac_ineq.T @ lam), rcond=None)[0])
    return lam, mu


class TrustRegionSQP:
    """State of a COBYQA run (see module docstring); ``values`` rows: f, cub..., ceq...."""

    def __init__(self, pb: CobyqaProblem, models: ModelSet, m_ub: int, m_eq: int,
                 radius: float) -> None:
        self.pb, self.models = pb, models
        self.m_ub, self.m_eq = m_ub, m_eq
        self.penalty = 0.0
        self.best = 0
        self.set_best_index()
        self.lm_lin_ub = np.zeros(pb.b_ub.size)
        self.lm_lin_eq = np.zeros(pb.b_eq.size)
        self.lm_nl_ub = np.zeros(m_ub)
        self.lm_nl_eq = np.zeros(m_eq)
        self.set_multipliers(self.x_best)
        self.resolution = radius
        self._radius = radius

    # -- the radius never sits just above the resolution ----------------------------------------
    @property
    def radius(self) -> float:
        return self._radius

    @radius.setter
    def radius(self, value: float) -> None:
        self._radius = self.resolution if value <= 1.4 * self.resolution else value

    # -- the best point and the models --------------------------------------------------------
    @property
    def x_best(self) -> FloatArray:
        return self.models.point(self.best)

    def split(self, row: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """``(f, cub, ceq)`` of one row of function values."""
        return float(row[0]), row[1:1 + self.m_ub], row[1 + self.m_ub:]

    @property
    def best_values(self) -> tuple[float, FloatArray, FloatArray]:
        return self.split(self.models.values[self.best])

    def lag_weights(self) -> FloatArray:
        return np.concatenate(([1.0], self.lm_nl_ub, self.lm_nl_eq))

    def lag_hess_prod(self, v: FloatArray) -> FloatArray:
        return self.models.hess_prod(v, self.lag_weights())

    def merit(self, x: FloatArray, f: float, cub: FloatArray, ceq: FloatArray) -> float:
        """``f + penalty * ||violation(x)||_2``."""
        if self.penalty > 0.0:
            viol = self.pb.violation(x, cub, ceq)
            if np.count_nonzero(viol):
                return f + self.penalty * float(np.linalg.norm(viol))
        return f

    def linearizations(self, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray,
                                                     FloatArray]:
        """``(aub, bub, aeq, beq)``: constraints on a step ``s`` from ``x`` to first order."""
        pb, val, grad = self.pb, self.models.value(x), self.models.gradient(x)
        u, e = slice(1, 1 + self.m_ub), slice(1 + self.m_ub, None)
        aub = np.vstack((pb.a_ub, grad[u]))
        bub = np.concatenate((pb.b_ub - pb.a_ub @ x, -val[u]))
        aeq = np.vstack((pb.a_eq, grad[e]))
        beq = np.concatenate((pb.b_eq - pb.a_eq @ x, -val[e]))
        return aub, bub, aeq, beq

    def sqp_values(self, step: FloatArray) -> tuple[float, FloatArray, FloatArray]:
        """The SQP model of the change of f and the linearised constraints along ``step``."""
        x = self.x_best
        val, grad = self.models.value(x), self.models.gradient(x)
        lin = val + grad @ step
        f = float(step @ (grad[0] + 0.5 * self.lag_hess_prod(step)))
        return f, lin[1:1 + self.m_ub], lin[1 + self.m_ub:]

    # -- steps ----------------------------------------------------------------------------------
    def trust_region_step(self) -> tuple[FloatArray, FloatArray]:
        """Byrd-Omojokun composite step: ``(normal, tangential)``."""
        x = self.x_best
        aub, bub, aeq, beq = self.linearizations(x)
        xl, xu = self.pb.xl - x, self.pb.xu - x
        normal = normal_step(aub, bub, aeq, beq, xl, xu, BYRD_OMOJOKUN * self.radius)
        radius = np.sqrt(max(self.radius ** 2 - float(normal @ normal), 0.0))
        xl, xu = xl - normal, xu - normal
        bub = np.maximum(bub - aub @ normal, 0.0)
        g = self.models.gradient(x)[0] + self.lag_hess_prod(normal)
        if self.pb.kind in ("unconstrained", "bound-constrained"):
            aub, bub, aeq = np.empty((0, x.size)), np.empty(0), np.empty((0, x.size))
        tangential = tangential_step(g, self.lag_hess_prod, xl, xu, aub, bub, aeq, radius)
        return normal, tangential

    def soc_step(self, step: FloatArray) -> FloatArray:
        """Second-order correction: a normal step from the same linearisation, ``||.|| <= ||step||``."""
        x = self.x_best
        aub, bub, aeq, beq = self.linearizations(x)
        return normal_step(aub, bub, aeq, beq, self.pb.xl - x, self.pb.xu - x,
                           float(np.linalg.norm(step)))

    def geometry_step(self, k: int) -> FloatArray:
        """Step from ``x_best`` to a new position of point ``k`` that keeps the set poised."""
        models, x = self.models, self.x_best
        unit = np.zeros((models.npt, 1))
        unit[k, 0] = 1.0
        lam, _, g0 = models.system().coefficients(unit)

        def curv(v: FloatArray) -> float:
            return float(lam[0] @ (models.xpt.T @ v) ** 2)

        g_lag = g0[0] + models.xpt @ (lam[0] * (models.xpt.T @ (x - models.x_base)))
        xl, xu = self.pb.xl - x, self.pb.xu - x
        step = cauchy_geometry(g_lag, curv, xl, xu, self.radius)
        sigma = abs(cast(float, models.determinants(x + step, k)))
        others = np.delete(models.xpt - models.xpt[:, self.best, None], self.best, axis=1)
        alt = spider_geometry(g_lag, curv, others, xl, xu, self.radius)
        sigma_alt = abs(cast(float, models.determinants(x + alt, k)))
        if sigma_alt > sigma:
            step, sigma = alt, sigma_alt
        if self.pb.kind in ("linearly constrained", "nonlinearly constrained"):
            step = self._feasible_geometry_step(step, sigma, k, g_lag, curv, xl, xu)
        return step

    def _feasible_geometry_step(self, step: FloatArray, sigma: float, k: int, g_lag: FloatArray,
                                curv: object, xl: FloatArray, xu: FloatArray) -> FloatArray:
        """Prefer a step along the projected gradient of the Lagrange polynomial that keeps the
        active linearised constraints, when it is nearly as well poised."""
        aub, bub, aeq, beq = self.linearizations(self.x_best)
        tol_bd, tol_ub = arrays_tol(xl, xu), arrays_tol(bub)
        free_lo, free_up, free_ub = xl <= -tol_bd, xu >= tol_bd, bub >= tol_ub
        n = xl.size
        eye = np.eye(n)
        basis = null_space(np.vstack((aeq, aub[~free_ub], -eye[~free_lo], eye[~free_up])), n)
        n_act = n - basis.shape[1]
        proj = basis @ (basis.T @ g_lag)
        norm = float(np.linalg.norm(proj))
        if not (0 < n_act < n and norm > TINY * self.radius):
            return step
        alt = (self.radius / norm) * proj
        if curv(alt) < 0.0:  # type: ignore[operator]
            alt = -alt
        viol = max(float(np.max(np.concatenate((xl - alt, alt - xu)), initial=0.0)),
                   float(np.max(aub @ alt - bub, initial=0.0)),
                   float(np.max(np.abs(aeq @ alt - beq), initial=0.0)))
        tol = max(float(np.max(np.abs(alt[~free_lo]), initial=0.0)),
                  float(np.max(np.abs(alt[~free_up]), initial=0.0)),
                  float(np.max(np.abs(aub[~free_ub] @ alt), initial=0.0)))
        tol = min(10.0 * tol, 1e-2 * float(np.linalg.norm(alt)))
        if viol <= tol and abs(cast(float, self.models.determinants(self.x_best + alt, k))
                               ) >= 0.1 * sigma:
            return np.clip(alt, xl, xu)
        return step

    # -- acceptance, penalty, radius -------------------------------------------------------------
    def reduction_ratio(self, step: FloatArray, f: float, cub: FloatArray, ceq: FloatArray
                        ) -> float:
        """Actual over predicted decrease of the merit function (-1 when nothing predicted)."""
        x = self.x_best
        old = self.merit(x, *self.best_values)
        new = self.merit(x + step, f, cub, ceq)
        val = self.models.value(x)
        model_old = self.merit(x, 0.0, val[1:1 + self.m_ub], val[1 + self.m_ub:])
        model_new = self.merit(x + step, *self.sqp_values(step))
        predicted = abs(model_old - model_new)
        if predicted > TINY * abs(old - new):
            return (old - new) / predicted
        return -1.0

    def increase_penalty(self, step: FloatArray) -> bool:
        """Raise the penalty so the step predicts a merit decrease; False if the best point
        changed (the iteration then restarts)."""
        aub, bub, aeq, beq = self.linearizations(self.x_best)
        before = np.linalg.norm(np.concatenate((np.maximum(0.0, -bub), beq)))
        after = np.linalg.norm(np.concatenate((np.maximum(0.0, aub @ step - bub),
                                               aeq @ step - beq)))
        viol_diff = max(float(before - after), 0.0)
        sqp_val = self.sqp_values(step)[0]
        threshold = float(np.linalg.norm(np.concatenate(
            (self.lm_lin_ub, self.lm_lin_eq, self.lm_nl_ub, self.lm_nl_eq))))
        if abs(viol_diff) > TINY * abs(sqp_val):
            threshold = max(threshold, sqp_val / viol_diff)
        old_best = self.best
        if self.penalty <= 1.5 * threshold:
            self.penalty = max(2.0 * threshold, 1.0)
            self.set_best_index()
        return old_best == self.best

    def decrease_penalty(self) -> None:
        self.penalty = min(self.penalty, self._low_penalty())
        self.set_best_index()

    def _low_penalty(self) -> float:
        models, pb = self.models, self.pb
        pts = (models.x_base[:, None] + models.xpt).T
        lin_eq = pts @ pb.a_eq.T - pb.b_eq
        cub, ceq = models.values[:, 1:1 + self.m_ub], models.values[:, 1 + self.m_ub:]
        r = np.hstack((pts @ pb.a_ub.T - pb.b_ub, cub, lin_eq, -lin_eq, ceq, -ceq))
        c_min, c_max = np.nanmin(r, axis=0, initial=np.inf), np.nanmax(r, axis=0, initial=-np.inf)
        sel = c_min < 2.0 * c_max
        if not np.any(sel):
            return 0.0
        f = models.values[:, 0]
        f_range = float(np.nanmax(f) - np.nanmin(f))
        c_diff = float(np.min(c_max[sel] - np.minimum(0.0, c_min[sel])))
        return f_range / c_diff if c_diff > TINY * f_range else np.inf

    def set_best_index(self) -> None:
        """Make ``best`` the point of least merit (ties within rounding: least violation)."""
        models, pb = self.models, self.pb
        pts = (models.x_base[:, None] + models.xpt).T
        cub, ceq = models.values[:, 1:1 + self.m_ub], models.values[:, 1 + self.m_ub:]
        viol = np.hstack((np.maximum(pts @ pb.a_ub.T - pb.b_ub, 0.0),
                          np.abs(pts @ pb.a_eq.T - pb.b_eq), np.maximum(cub, 0.0), np.abs(ceq)))
        merit = models.values[:, 0].copy()
        if self.penalty > 0.0:
            merit = merit + self.penalty * np.linalg.norm(viol, axis=1)
        merits = merit.tolist()
        cvs = np.max(viol, axis=1, initial=0.0).tolist()
        best = self.best
        m_best, r_best = merits[best], cvs[best]
        tol = 10.0 * EPS * max(models.n, models.npt) * max(abs(m_best), 1.0)
        for k in range(models.npt):
            if k != self.best and (merits[k] < m_best
                                   or (merits[k] < m_best + tol and cvs[k] < r_best)):
                best, m_best, r_best = k, merits[k], cvs[k]
        self.best = best

    def index_to_remove(self, x_new: FloatArray | None = None) -> tuple[int, float]:
        """The point to replace (by ``x_new``, or for a geometry step) and its distance to
        ``x_best``."""
        models = self.models
        dist_sq = np.sum((models.xpt - models.xpt[:, self.best, None]) ** 2, axis=0)
        sigma: FloatArray | float
        if x_new is None:
            weights, sigma = dist_sq, 1.0
        else:
            sigma = models.determinants(x_new)
            scale = max(0.1 * self.radius, self.resolution)
            weights = np.maximum(1.0, dist_sq / scale ** 2) ** 3
            weights[self.best] = -1.0
        k = int(np.argmax(weights * np.abs(sigma)))
        return k, float(np.sqrt(dist_sq[k]))

    def update_radius(self, step: FloatArray, ratio: float) -> None:
        s_norm = float(np.linalg.norm(step))
        if ratio <= 0.1:
            self.radius = 0.5 * self.radius
        elif ratio <= 0.7:
            self.radius = max(0.5 * self.radius, s_norm)
        else:
            self.radius = min(np.sqrt(2.0) * self.radius, max(0.5 * self.radius, 2.0 * s_norm))

    def enhance_resolution(self, final: float) -> None:
        """Decrease the resolution towards ``final`` (by 10, by a geometric mean, or to it)."""
        if 250.0 * final < self.resolution:
            self.resolution *= 0.1
        elif 16.0 * final < self.resolution:
            self.resolution = float(np.sqrt(self.resolution * final))
        else:
            self.resolution = final
        self._radius = max(0.5 * self._radius, self.resolution)

    def set_multipliers(self, x: FloatArray) -> None:
        """Least-squares Lagrange multipliers at ``x`` from the constraints active there."""
        pb, models = self.pb, self.models
        _, cub_best, _ = self.best_values
        on_lin = pb.a_ub @ x >= pb.b_ub
        on_nl = cub_best >= 0.0
        on_lo, on_up = pb.xl >= x, pb.xu <= x
        if np.count_nonzero(on_lin) + np.count_nonzero(on_nl) + pb.b_eq.size + self.m_eq == 0:
            return
        grad = models.gradient(x)
        eye = np.eye(x.size)
        jac_ineq = np.vstack((-eye[on_lo], eye[on_up], pb.a_ub[on_lin],
                              grad[1:1 + self.m_ub][on_nl]))
        jac_eq = np.vstack((pb.a_eq, grad[1 + self.m_ub:]))
        lam, mu = least_squares_multipliers(jac_ineq, jac_eq, grad[0])
        start = np.count_nonzero(on_lo) + np.count_nonzero(on_up)
        n_lin = np.count_nonzero(on_lin)
        self.lm_lin_ub[:] = 0.0
        self.lm_lin_ub[on_lin] = lam[start:start + n_lin]
        self.lm_nl_ub[:] = 0.0
        self.lm_nl_ub[on_nl] = lam[start + n_lin:]
        self.lm_lin_eq[:] = mu[:pb.b_eq.size]
        self.lm_nl_eq[:] = mu[pb.b_eq.size:]


def build_models(pb: CobyqaProblem, radius: float, evaluate: object) -> ModelSet:
    """Evaluate the initial interpolation set (``evaluate(z) -> row of values``)."""
    base, xpt = initial_points(pb.z0, pb.xl, pb.xu, radius)
    rows = [evaluate(base + xpt[:, k]) for k in range(xpt.shape[1])]  # type: ignore[operator]
    return ModelSet(base, xpt, np.array(rows, dtype=float))
