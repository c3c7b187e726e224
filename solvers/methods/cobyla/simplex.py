"""COBYLA's interpolation simplex: n + 1 points, their values, and the linear models they define.

The simplex is stored as in Powell's code: ``sim[:, n]`` is the *pole* (the best vertex for the
merit function ``phi = f + cpen * cstrv``) and ``sim[:, j]`` (j < n) is the displacement of
vertex j from the pole; ``simi`` is the inverse of ``sim[:, :n]``.  ``fval`` (n + 1,), ``conmat``
(m, n + 1) and ``cval`` (n + 1,) hold the objective, the constraint values (``<= 0`` feasible)
and the violation ``max(0, constr)`` at each vertex, the pole last.  The linear models that
interpolate them have gradients ``simi.T @ (v[:n] - v[n])``.

Also here: the choice of the penalty parameter (Powell 1994, eq. (9) and (12)-(13)), the vertex
a trust-region point replaces (eq. (19)-(22)) and the geometry step (eq. (15)-(17)), following
the PRIMA reference implementation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from .lp import trust_region_lp_step

__all__ = ["Simplex", "fc_ratio", "penalty_for_descent"]

FloatArray = npt.NDArray[np.float64]

_HUGE = float(np.finfo(float).max)


def _inverse_error(simi: FloatArray, sim: FloatArray) -> float:
    """Largest entry of ``simi @ sim - I`` (NaN propagates)."""
    return float(np.max(np.abs(simi @ sim - np.eye(sim.shape[0]))))


@dataclass
class Simplex:
    """The interpolation set (see module docstring); ``a_lin`` (n, m_lin) holds exact gradients
    of the first ``m_lin`` constraints (the linear ones: bounds), which need no interpolation."""

    sim: FloatArray
    simi: FloatArray
    fval: FloatArray
    conmat: FloatArray
    cval: FloatArray
    a_lin: FloatArray

    @property
    def n(self) -> int:
        return self.sim.shape[0]

    @property
    def pole(self) -> FloatArray:
        return self.sim[:, self.n]

    def copy(self) -> Simplex:
        return Simplex(self.sim.copy(), self.simi.copy(), self.fval.copy(), self.conmat.copy(),
                       self.cval.copy(), self.a_lin)

    # -- linear models --------------------------------------------------------------------
    def models(self) -> tuple[FloatArray, FloatArray]:
        """Gradients of the objective model (n,) and of the constraint models (n, m)."""
        n, m_lin = self.n, self.a_lin.shape[1]
        g = (self.fval[:n] - self.fval[n]) @ self.simi
        delta_c = self.conmat[m_lin:, :n] - self.conmat[m_lin:, n:n + 1]
        A = np.empty((n, self.conmat.shape[0]))
        A[:, :m_lin] = self.a_lin
        A[:, m_lin:] = (delta_c @ self.simi).T
        return g, A

    def trust_region_step(self, delta: float) -> tuple[FloatArray, float, float, FloatArray,
                                                         FloatArray]:
        """Solve the LP subproblem; return ``d``, predicted decreases of f and of the violation,
        and the model gradients ``g``, ``A``."""
        g, A = self.models()
        c_pole = self.conmat[:, self.n]
        d = trust_region_lp_step(A, -c_pole, delta, g)
        pred_f = -float(d @ g)
        pred_c = float(self.cval[self.n] - max(0.0, float(np.max(c_pole + d @ A, initial=0.0))))
        return d, pred_f, pred_c, g, A

    # -- the pole ---------------------------------------------------------------------------
    def best_vertex(self, cpen: float) -> int:
        """Index of the vertex with the least merit (ties: least violation; else the pole)."""
        n = self.n
        phi = self.fval + cpen * self.cval
        phimin = phi.min()
        if phimin < phi[n] or np.any((self.cval < self.cval[n]) & (phi <= phi[n])):
            candidates = np.flatnonzero(phi <= phimin)
            return int(candidates[np.argmin(self.cval[candidates])])
        return n

    def _checked_inverse(self, sim: FloatArray, simi: FloatArray) -> FloatArray | None:
        """``simi`` if it inverts ``sim`` well enough (recomputed when poor); None if damaged."""
        err = _inverse_error(simi, sim)
        if err > 0.1 or np.isnan(err):
            try:
                fresh = cast(FloatArray, np.linalg.inv(sim))
            except np.linalg.LinAlgError:
                fresh = None
            if fresh is not None:
                err_fresh = _inverse_error(fresh, sim)
                if err_fresh < err or (np.isnan(err) and not np.isnan(err_fresh)):
                    simi, err = fresh, err_fresh
        return simi if err <= 1.0 else None

    def update_pole(self, cpen: float) -> bool:
        """Make the best vertex (for ``cpen``) the pole; False when rounding has damaged simi."""
        n = self.n
        jopt = self.best_vertex(cpen)
        if jopt == n:
            simi = self._checked_inverse(self.sim[:, :n], self.simi)
            if simi is None:
                return False
            self.simi = simi
            return True
        sim = self.sim.copy()
        simi = self.simi.copy()
        shift = sim[:, jopt].copy()
        sim[:, n] += shift
        sim[:, jopt] = 0.0
        sim[:, :n] -= shift[:, None]
        simi[jopt, :] = -simi.sum(axis=0)
        with np.errstate(invalid="ignore", over="ignore"):
            simi_ok = self._checked_inverse(sim[:, :n], simi)
        if simi_ok is None:
            return False
        self.sim, self.simi = sim, simi_ok
        for arr in (self.fval, self.cval):
            arr[[jopt, n]] = arr[[n, jopt]]
        self.conmat[:, [jopt, n]] = self.conmat[:, [n, jopt]]
        return True

    def replace(self, jdrop: int, d: FloatArray, f: float, constr: FloatArray, cstrv: float,
                cpen: float) -> bool:
        """Replace vertex ``jdrop`` by ``pole + d`` (values ``f``, ``constr``), then re-pole.

        Returns False (and changes nothing) when the new simplex is numerically degenerate.
        """
        n = self.n
        sim, simi = self.sim.copy(), self.simi.copy()
        with np.errstate(divide="ignore", invalid="ignore"):  # degenerate: checked just below
            if jdrop < n:
                sim[:, jdrop] = d
                row = simi[jdrop, :] / (simi[jdrop, :] @ d)
                simi -= np.outer(simi @ d, row)
                simi[jdrop, :] = row
            else:
                sim[:, n] += d
                sim[:, :n] -= d[:, None]
                simid = simi @ d
                simi += np.outer(simid, simi.sum(axis=0) / (1 - simid.sum()))
        with np.errstate(invalid="ignore", over="ignore"):
            simi_ok = self._checked_inverse(sim[:, :n], simi)
        if simi_ok is None:
            return False
        self.sim, self.simi = sim, simi_ok
        self.fval[jdrop] = f
        self.conmat[:, jdrop] = constr
        self.cval[jdrop] = cstrv
        return self.update_pole(cpen)

    # -- which vertex to drop, and geometry ---------------------------------------------------
    def drop_for_trust_step(self, improved: bool, d: FloatArray, delta: float,
                            rho: float) -> int | None:
        """The vertex a trust-region point ``pole + d`` replaces (None: keep the simplex)."""
        n = self.n
        disp = self.sim[:, :n]
        distsq = np.empty(n + 1)
        if improved:
            distsq[:n] = np.sum((disp - d[:, None]) ** 2, axis=0)
            distsq[n] = d @ d
        else:
            distsq[:n] = np.sum(disp**2, axis=0)
            distsq[n] = 0.0
        weight = np.maximum(1.0, distsq / max(rho, delta / 10) ** 2)
        simid = self.simi @ d
        score = weight * np.abs(np.append(simid, 1 - simid.sum()))
        if not improved:
            score[n] = -1.0
        score[np.isnan(score)] = -1.0
        if np.any(score > 0):
            return int(np.argmax(score))
        return int(np.argmax(distsq)) if improved else None

    def adequate_geometry(self, delta: float) -> bool:
        """Whether every vertex lies within ``2 delta`` of the pole."""
        return bool(np.all(np.sum(self.sim[:, :self.n] ** 2, axis=0) <= 4 * delta * delta))

    def farthest_vertex(self) -> int:
        return int(np.argmax(np.sum(self.sim[:, :self.n] ** 2, axis=0)))

    def geometry_step(self, jdrop: int, cpen: float, length: float) -> FloatArray:
        """Step of the given length from the pole that restores the simplex's volume when it
        replaces vertex ``jdrop``; of its two signs, the one with the better model merit."""
        d = self.simi[jdrop, :]
        d = length * (d / np.linalg.norm(d))
        g, A = self.models()
        c_pole = self.conmat[:, self.n]
        viol_plus = max(0.0, float(np.max(c_pole + d @ A, initial=0.0)))
        viol_minus = max(0.0, float(np.max(c_pole - d @ A, initial=0.0)))
        if -(d @ g) + cpen * viol_minus < d @ g + cpen * viol_plus:
            d = -d
        return d


def fc_ratio(conmat: FloatArray, fval: FloatArray) -> float:
    """Ratio of a typical change of f to a typical change of the constraints (Powell's eq. 12-13).

    Zero when no constraint varies enough over the simplex or f is constant.
    """
    cmin = np.min(-conmat, axis=1) if conmat.size else np.zeros(0)
    cmax = np.max(-conmat, axis=1) if conmat.size else np.zeros(0)
    fmin, fmax = float(np.min(fval)), float(np.max(fval))
    varies = cmin < 0.5 * cmax
    if not np.any(varies) or not fmin < fmax:
        return 0.0
    denom = float(np.min((np.maximum(cmax, 0) - cmin)[varies]))
    return (fmax - fmin) / denom


def penalty_for_descent(simplex: Simplex, cpen: float, delta: float) -> float:
    """Increase ``cpen`` until the trust-region step predicts a decrease of the merit function.

    Works on a copy of the simplex (the pole may move as ``cpen`` grows); at most n + 1 rounds.
    """
    trial = simplex.copy()
    n = trial.n
    for _ in range(n + 1):
        if not trial.update_pole(cpen):
            break
        _, pred_f, pred_c, _, _ = trial.trust_region_step(delta)
        if not (pred_c > 0 and pred_f < 0):
            break
        cpen = max(cpen, min(-2 * pred_f / pred_c, _HUGE))
        if trial.best_vertex(cpen) == n:
            break
    return cpen
