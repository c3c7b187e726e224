"""COBYQA's view of the problem: reduced and scaled variables, constraint values, the filter.

`CobyqaProblem` removes the variables fixed by the bounds, optionally maps the others onto
``[-1, 1]`` (``scale=True`` with finite bounds), splits the linear constraints into
``a_ub @ z <= b_ub`` and ``a_eq @ z == b_eq`` rows and evaluates the nonlinear ones as
``cub <= 0`` / ``ceq == 0`` vectors.  Every evaluation goes into a filter of non-dominated
``(fun, maxcv)`` pairs, from which `best_eval` picks the point the run returns: the feasible point
of least objective, or else the one of least merit ``fun + penalty * maxcv``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.constraints import LinearConstraint, NonlinearConstraint
from ..._core.objective import ScalarObjective

__all__ = ["CobyqaProblem", "arrays_tol", "BARRIER"]

FloatArray = npt.NDArray[np.float64]
EPS = float(np.finfo(float).eps)
#: extreme barrier that replaces NaN / huge constraint values (as COBYQA's 2**100 cap)
BARRIER = 2.0 ** min(100, np.finfo(float).maxexp // 2, -np.finfo(float).minexp // 2)


def arrays_tol(*arrays: FloatArray) -> float:
    """A relative tolerance for comparing entries of ``arrays``: 10 eps * size * magnitude."""
    size = max(a.size for a in arrays)
    weight = max(float(np.max(np.abs(a[np.isfinite(a)]), initial=1.0)) for a in arrays)
    return 10.0 * EPS * max(size, 1) * weight


def _linear_rows(constraints: Sequence[LinearConstraint], n: int
                 ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Stack linear constraints as ``a_ub x <= b_ub`` (upper rows, then negated lower rows of
    each constraint) and ``a_eq x == b_eq`` (components with ``lb == ub``)."""
    a_ub, b_ub, a_eq, b_eq = [np.empty((0, n))], [np.empty(0)], [np.empty((0, n))], [np.empty(0)]
    for con in constraints:
        a = np.nan_to_num(np.asarray(con.A, dtype=float), nan=0.0)
        lb, ub = np.asarray(con.lb, dtype=float), np.asarray(con.ub, dtype=float)
        is_eq = np.abs(ub - lb) <= arrays_tol(lb, ub)
        a_eq.append(a[is_eq])
        b_eq.append(0.5 * (lb[is_eq] + ub[is_eq]))
        a_ub.extend((a[~is_eq], -a[~is_eq]))
        b_ub.extend((ub[~is_eq], -lb[~is_eq]))
    aub, bub = np.vstack(a_ub), np.concatenate(b_ub)
    aeq, beq = np.vstack(a_eq), np.concatenate(b_eq)
    keep_ub, keep_eq = np.isfinite(bub), ~np.isnan(beq)
    return aub[keep_ub], bub[keep_ub], aeq[keep_eq], beq[keep_eq]


class CobyqaProblem:
    """The problem in COBYQA's reduced variables ``z`` (see module docstring).

    Parameters
    ----------
    obj : ScalarObjective
        The counted objective (``obj.evaluate`` is called once per evaluation).
    x0 : ndarray, shape (n_orig,)
        Initial guess (projected onto the bounds).
    lb, ub : ndarray, shape (n_orig,)
        Bounds (``-inf`` / ``inf`` when free).
    constraints : sequence of LinearConstraint / NonlinearConstraint
        New-style constraints.
    feasibility_tol : float
        Largest constraint violation of a point counted as feasible.
    scale : bool
        Map the variables onto ``[-1, 1]`` when every bound is finite.
    """

    def __init__(self, obj: ScalarObjective, x0: FloatArray, lb: FloatArray, ub: FloatArray,
                 constraints: Sequence[Any], feasibility_tol: float, scale: bool) -> None:
        self.obj, self.feasibility_tol = obj, feasibility_tol
        self.lb_orig, self.ub_orig = lb, ub
        self.fixed = (lb <= ub) & (np.abs(lb - ub) < arrays_tol(lb, ub))
        self.fixed_val = np.clip(0.5 * (lb[self.fixed] + ub[self.fixed]), lb[self.fixed],
                                 ub[self.fixed])
        free = ~self.fixed
        xl, xu = lb[free], ub[free]
        linear = [c for c in constraints if isinstance(c, LinearConstraint)]
        self.nonlinear = [c for c in constraints if isinstance(c, NonlinearConstraint)]
        aub, bub, aeq, beq = _linear_rows(linear, lb.size)
        bub = bub - aub[:, self.fixed] @ self.fixed_val
        beq = beq - aeq[:, self.fixed] @ self.fixed_val
        aub, aeq = aub[:, free], aeq[:, free]
        z0 = np.clip(x0[free], xl, xu)
        if scale and np.all(np.isfinite(xl)) and np.all(np.isfinite(xu)):
            factor, shift = 0.5 * (xu - xl), 0.5 * (xu + xl)
            bub, beq = bub - aub @ shift, beq - aeq @ shift
            aub, aeq = aub * factor, aeq * factor
            xl, xu = -np.ones(xl.size), np.ones(xu.size)
            z0 = (z0 - shift) / factor
        else:
            factor, shift = np.ones(xl.size), np.zeros(xl.size)
        self.factor, self.shift = factor, shift
        self.xl, self.xu, self.z0 = xl, xu, z0
        self.a_ub, self.b_ub, self.a_eq, self.b_eq = aub, bub, aeq, beq
        self._split: list[tuple[npt.NDArray[np.bool_], FloatArray, FloatArray]] | None = None
        self.m_nl_ub: int | None = None if self.nonlinear else 0
        self.m_nl_eq: int | None = None if self.nonlinear else 0
        self.filter_f: list[float] = []
        self.filter_cv: list[float] = []
        self.filter_x: list[FloatArray] = []

    # -- sizes and kind -----------------------------------------------------------------------
    @property
    def n(self) -> int:
        return int(self.xl.size)

    @property
    def nfev(self) -> int:
        return self.obj.nfev

    @property
    def kind(self) -> str:
        """'unconstrained', 'bound-constrained', 'linearly constrained' or 'nonlinearly ...'."""
        if self.m_nl_ub is None or self.m_nl_ub + (self.m_nl_eq or 0) > 0:
            return "nonlinearly constrained"
        if self.b_ub.size + self.b_eq.size > 0:
            return "linearly constrained"
        if np.any(np.isfinite(self.xl)) or np.any(np.isfinite(self.xu)):
            return "bound-constrained"
        return "unconstrained"

    def build_x(self, z: FloatArray) -> FloatArray:
        """The full vector of variables for reduced variables ``z``, inside the bounds."""
        x = np.empty(self.fixed.size)
        x[self.fixed] = self.fixed_val
        x[~self.fixed] = z * self.factor + self.shift
        return np.clip(x, self.lb_orig, self.ub_orig)

    # -- evaluations --------------------------------------------------------------------------
    def _nonlinear_values(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        values = [np.atleast_1d(np.asarray(c.fun(x.copy()), dtype=float)).ravel()
                  for c in self.nonlinear]
        if self._split is None:
            self._split = []
            for con, val in zip(self.nonlinear, values):
                lb = np.broadcast_to(np.asarray(con.lb, dtype=float), val.shape).copy()
                ub = np.broadcast_to(np.asarray(con.ub, dtype=float), val.shape).copy()
                self._split.append((np.abs(ub - lb) <= arrays_tol(lb, ub), lb, ub))
        cub: list[FloatArray] = [np.empty(0)]
        ceq: list[FloatArray] = [np.empty(0)]
        for (is_eq, lb, ub), val in zip(self._split, values):
            v, lo, hi = val[~is_eq], lb[~is_eq], ub[~is_eq]
            cub.extend((lo[lo > -np.inf] - v[lo > -np.inf], v[hi < np.inf] - hi[hi < np.inf]))
            ceq.append(val[is_eq] - 0.5 * (lb[is_eq] + ub[is_eq]))
        c_ub, c_eq = np.concatenate(cub), np.concatenate(ceq)
        self.m_nl_ub, self.m_nl_eq = c_ub.size, c_eq.size
        return c_ub, c_eq

    def __call__(self, z: FloatArray) -> tuple[float, FloatArray, FloatArray, float]:
        """Evaluate at ``z``: ``(fun, cub, ceq, maxcv)`` (one counted objective evaluation).

        NaN constraint values become the barrier; the point enters the filter.
        """
        x = self.build_x(z)
        f = self.obj.evaluate(x)
        cub, ceq = self._nonlinear_values(x) if self.nonlinear else (np.empty(0), np.empty(0))
        cv = self.maxcv(z, cub, ceq)
        self._add_to_filter(f, cv, x)
        cub = np.clip(np.where(np.isnan(cub), BARRIER, cub), -BARRIER, BARRIER)
        ceq = np.clip(np.where(np.isnan(ceq), BARRIER, ceq), -BARRIER, BARRIER)
        return min(max(f, -BARRIER), BARRIER), cub, ceq, cv

    def violation(self, z: FloatArray, cub: FloatArray, ceq: FloatArray) -> FloatArray:
        """Constraint violations at ``z`` (linear from ``z``, nonlinear from the values)."""
        return np.concatenate((np.maximum(self.a_ub @ z - self.b_ub, 0.0),
                               np.abs(self.a_eq @ z - self.b_eq),
                               np.maximum(cub, 0.0), np.abs(ceq)))

    def maxcv(self, z: FloatArray, cub: FloatArray, ceq: FloatArray) -> float:
        """Largest constraint violation at ``z``."""
        return float(np.max(self.violation(z, cub, ceq), initial=0.0))

    # -- the filter ---------------------------------------------------------------------------
    def _add_to_filter(self, f: float, cv: float, x: FloatArray) -> None:
        if np.isnan(cv):
            keep = all(np.isnan(g) or (np.isnan(c) and f < g)
                       for g, c in zip(self.filter_f, self.filter_cv))
        else:
            keep = all(f < g or cv < c for g, c in zip(self.filter_f, self.filter_cv))
        if not keep:
            return
        for k in range(len(self.filter_f) - 1, -1, -1):
            g, c = self.filter_f[k], self.filter_cv[k]
            dominated = (np.isnan(c) if np.isnan(cv) else
                         (np.isnan(g) or np.isnan(c) or (f <= g and cv <= c)))
            if dominated:
                del self.filter_f[k], self.filter_cv[k], self.filter_x[k]
        self.filter_f.append(f)
        self.filter_cv.append(cv)
        self.filter_x.append(np.array(x, dtype=float))

    def best_eval(self, penalty: float) -> tuple[FloatArray, float, float]:
        """The point to return: ``(x_full, fun, maxcv)`` (see module docstring)."""
        f = np.array(self.filter_f)
        cv = np.array(self.filter_cv)
        finite = np.isfinite(cv)
        feasible = cv <= self.feasibility_tol
        if np.any(feasible):
            pick = feasible & (f <= np.min(f[feasible]))
            if np.count_nonzero(pick) > 1:
                pick &= cv <= np.min(cv[pick])
        elif np.any(finite):
            merit = np.where(finite, f + penalty * np.where(finite, cv, 0.0), np.nan)
            pick = merit <= np.nanmin(merit)
            if np.count_nonzero(pick) > 1:
                pick &= cv <= np.min(cv[pick])
            if np.count_nonzero(pick) > 1:
                pick &= f <= np.min(f[pick])
        else:
            pick = f <= np.min(f)
        i = int(np.flatnonzero(pick)[-1])
        return self.filter_x[i], float(f[i]), float(cv[i])
