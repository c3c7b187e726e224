"""COBYLA's iterations (Powell 1994; the PRIMA reference implementation's ``cobylb``).

Each iteration takes the trust-region step of the linear models (`lp`) from the pole of
the simplex, accepts or rejects it by the reduction ratio of the merit function
``phi = f + cpen * cstrv``, and updates the radius ``delta``; when the step is poor the simplex
geometry is repaired first, and only then is the resolution ``rho`` reduced, from ``rhobeg``
down to ``rhoend``.  The penalty parameter ``cpen`` only grows while ``rho`` is fixed.

Exit flags are PRIMA's (scipy 1.17 returns them as ``status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

from ..._core.callback import Iterations
from .filter import PointFilter
from .problem import CobylaProblem
from .simplex import Simplex, fc_ratio, penalty_for_descent

__all__ = ["CobylaSettings", "CobylaOutcome", "run_cobyla", "INFO_REASONS"]

FloatArray = npt.NDArray[np.float64]

SMALL_TR_RADIUS, FTARGET_ACHIEVED, MAXFUN_REACHED = 0, 1, 3
DAMAGING_ROUNDING, MAXTR_REACHED = 7, 20
RUNNING = -999

#: exit flag -> the end of PRIMA's message "Return from COBYLA because ..."
INFO_REASONS = {
    SMALL_TR_RADIUS: "the trust region radius reaches its lower bound.",
    FTARGET_ACHIEVED: "the target function value is achieved.",
    MAXFUN_REACHED: "the objective function has been evaluated MAXFUN times.",
    DAMAGING_ROUNDING: "rounding errors are becoming damaging.",
    MAXTR_REACHED: "the maximal number of trust region iterations has been reached.",
}

_EPS = float(np.finfo(float).eps)
ETA1, ETA2, GAMMA1, GAMMA2 = 0.1, 0.7, 0.5, 2.0
GAMMA3 = max(1.0, min(0.75 * GAMMA2, 1.5))  # delta within GAMMA3 * rho snaps to rho
CWEIGHT = 1e8
MAXFILT = 2000


@dataclass(frozen=True)
class CobylaSettings:
    """Tolerances of one run: radii, evaluation budget, feasibility tolerance, target."""

    rhobeg: float
    rhoend: float
    maxfun: int
    ctol: float
    ftarget: float


@dataclass
class CobylaOutcome:
    """The chosen point (free variables), its values and the exit flag."""

    z: FloatArray
    f: float
    cstrv: float
    info: int


def reduced_rho(rho: float, rhoend: float) -> float:
    """The next resolution: /10 while far from ``rhoend``, then geometric, then ``rhoend``."""
    ratio = rho / rhoend
    if ratio > 250:
        return 0.1 * rho
    if ratio <= 16:
        return rhoend
    return float(np.sqrt(ratio) * rhoend)


def reduction_ratio(actual: float, predicted: float) -> float:
    """Actual over predicted reduction, with PRIMA's conventions for NaN and non-positive."""
    huge = float(np.finfo(float).max)
    if np.isnan(actual):
        return -huge
    if np.isnan(predicted) or predicted <= 0:
        return ETA1 / 2 if actual > 0 else -huge
    return actual / predicted


def new_radius(delta: float, dnorm: float, ratio: float) -> float:
    """Trust-region radius after a step of length ``dnorm`` with the given ratio."""
    if ratio <= ETA1:
        return GAMMA1 * dnorm
    if ratio <= ETA2:
        return max(GAMMA1 * delta, dnorm)
    return max(GAMMA1 * delta, GAMMA2 * dnorm)


class _Run:
    """State of one run: the simplex, radii, penalty, filter and counters."""

    # set by `iterate` (the trust-region state)
    simplex: Simplex
    rho: float
    delta: float
    cpen: float
    ratio: float
    jdrop_tr: int | None
    d: FloatArray
    dnorm: float
    short: bool
    bad_step: bool

    def __init__(self, problem: CobylaProblem, settings: CobylaSettings,
                 its: Iterations) -> None:
        self.problem, self.settings, self.its = problem, settings, its
        self.filter = PointFilter(min(MAXFILT, max(settings.maxfun, 1)), settings.ctol, CWEIGHT)
        self.info = RUNNING

    @property
    def nf(self) -> int:
        return self.problem.objective.nfev

    def _check_stop(self, f: float, cstrv: float) -> bool:
        s = self.settings
        if cstrv <= s.ctol and f <= s.ftarget:
            self.info = FTARGET_ACHIEVED
        if self.nf >= s.maxfun:
            self.info = MAXFUN_REACHED
        return self.info != RUNNING

    def _evaluate(self, z: FloatArray) -> tuple[float, FloatArray, float]:
        f, constr = self.problem.evaluate(z)
        cstrv = self.problem.violation_of(constr)
        self.filter.offer(z, f, cstrv)
        return f, constr, cstrv

    # -- initial simplex ----------------------------------------------------------------------
    def initialise(self, z0: FloatArray) -> Simplex | None:
        """Evaluate ``z0`` and its n axis neighbours; None when a stop test fired meanwhile."""
        p, s = self.problem, self.settings
        n = z0.size
        f0, c0, cv0 = self._evaluate(z0)
        self.its.start(p.expand(z0), f0)
        steps = p.initial_steps(z0, s.rhobeg)
        sim = np.zeros((n, n + 1))
        sim[:, :n] = np.diag(steps)
        sim[:, n] = z0
        fval = np.full(n + 1, np.finfo(float).max)
        cval = fval.copy()
        conmat = np.full((c0.size, n + 1), np.finfo(float).max)
        fval[n], conmat[:, n], cval[n] = f0, c0, cv0
        if self._check_stop(f0, cv0):
            return None
        for j in range(n):
            z = sim[:, n].copy()
            z[j] += steps[j]
            f, c, cv = self._evaluate(z)
            fval[j], conmat[:, j], cval[j] = f, c, cv
            if self._check_stop(f, cv):
                return None
            if fval[j] < fval[n]:  # the better point becomes the pole
                fval[[j, n]] = fval[[n, j]]
                cval[[j, n]] = cval[[n, j]]
                conmat[:, [j, n]] = conmat[:, [n, j]]
                sim[:, n] = z
                sim[j, :j + 1] = -steps[j]
        simi = cast(FloatArray, np.linalg.inv(sim[:, :n]))
        return Simplex(sim, simi, fval, conmat, cval, p.a_lin)

    # -- one evaluated trial point -------------------------------------------------------------
    def _trial(self, simplex: Simplex, d: FloatArray) -> tuple[FloatArray, float, FloatArray,
                                                                float]:
        """Evaluate ``pole + d`` (clipped into the bounds) unless a vertex is already there."""
        n = simplex.n
        pole = simplex.pole
        z = self.problem.clip(pole + d)
        d_eff = z - pole
        distsq = np.empty(n + 1)
        distsq[n] = d_eff @ d_eff
        distsq[:n] = np.sum((d_eff[:, None] - simplex.sim[:, :n]) ** 2, axis=0)
        j = int(np.argmin(distsq))
        if distsq[j] <= (1e-4 * self.settings.rhoend) ** 2:
            return d_eff, float(simplex.fval[j]), simplex.conmat[:, j].copy(), float(
                simplex.cval[j])
        f, constr, cstrv = self._evaluate(z)
        return d_eff, f, constr, cstrv

    def _geometry_direction(self, simplex: Simplex, jdrop: int, cpen: float,
                            delta: float) -> FloatArray:
        d = simplex.geometry_step(jdrop, cpen, delta / 2)
        pole = simplex.pole
        if not self.problem.inside(pole + d) and self.problem.inside(pole - d):
            d = -d  # keep the geometry point inside the bounds when the other sign allows it
        return d

    # -- the main loop --------------------------------------------------------------------------
    def _replace_or_stop(self, simplex: Simplex, jdrop: int | None, d_eff: FloatArray, f: float,
                         constr: FloatArray, cstrv: float) -> bool:
        """Put the evaluated point into the simplex; True when the run must end."""
        if jdrop is not None and not simplex.replace(jdrop, d_eff, f, constr, cstrv, self.cpen):
            self.info = DAMAGING_ROUNDING
            return True
        return self._check_stop(f, cstrv)

    def _trust_region_part(self, simplex: Simplex) -> bool:
        """Take (or reject) the trust-region step; sets ``self.bad_step``; True: stop."""
        n, rho = simplex.n, self.rho
        d, pred_f, pred_c, _, _ = simplex.trust_region_step(self.delta)
        self.d = d
        self.dnorm = min(self.delta, float(np.linalg.norm(d)))
        self.short = self.dnorm <= 0.1 * rho
        pred_merit = pred_f + self.cpen * pred_c
        tr_fail = not pred_merit > 1e-6 * min(self.cpen, 1.0) * rho
        stop = False
        if self.short or tr_fail:
            self.delta *= 0.1
        else:
            phi_pole = simplex.fval[n] + self.cpen * simplex.cval[n]
            d_eff, f, constr, cstrv = self._trial(simplex, d)
            actual = phi_pole - (f + self.cpen * cstrv)
            self.ratio = reduction_ratio(actual, pred_merit)
            self.delta = new_radius(self.delta, self.dnorm, self.ratio)
            if self.delta <= GAMMA3 * rho:
                self.delta = rho
            self.jdrop_tr = simplex.drop_for_trust_step(actual > 0, d_eff, self.delta, rho)
            stop = self._replace_or_stop(simplex, self.jdrop_tr, d_eff, f, constr, cstrv)
        if self.delta <= GAMMA3 * rho:
            self.delta = rho
        self.bad_step = (self.short or tr_fail or self.ratio <= 0 or self.jdrop_tr is None)
        return stop

    def _geometry_part(self, simplex: Simplex) -> bool:
        """Replace the farthest vertex by a geometry point; True: stop."""
        jdrop = simplex.farthest_vertex()
        d_geo = self._geometry_direction(simplex, jdrop, self.cpen, self.delta)
        d_eff, f, constr, cstrv = self._trial(simplex, d_geo)
        return self._replace_or_stop(simplex, jdrop, d_eff, f, constr, cstrv)

    def _reduce_rho(self, simplex: Simplex) -> bool:
        """Next resolution; True when ``rhoend`` is reached (or rounding hurts): stop."""
        rhoend = self.settings.rhoend
        if self.rho <= rhoend:
            self.info = SMALL_TR_RADIUS
            return True
        self.delta = max(0.5 * self.rho, reduced_rho(self.rho, rhoend))
        self.rho = reduced_rho(self.rho, rhoend)
        self.cpen = max(_EPS, min(self.cpen, fc_ratio(simplex.conmat, simplex.fval)))
        if not simplex.update_pole(self.cpen):
            self.info = DAMAGING_ROUNDING
            return True
        return False

    def iterate(self, simplex: Simplex) -> None:
        """Run the trust-region iterations until a stop test fires."""
        n = simplex.n
        self.simplex = simplex
        self.rho = self.delta = self.settings.rhobeg
        self.cpen = max(_EPS, min(1e3, fc_ratio(simplex.conmat, simplex.fval)))
        self.ratio, self.jdrop_tr = -1.0, 0
        self.d, self.short = np.zeros(n), False
        for _ in range(10 * self.settings.maxfun):
            self.cpen = penalty_for_descent(simplex, self.cpen, self.delta)
            if not simplex.update_pole(self.cpen):
                self.info = DAMAGING_ROUNDING
                break
            adequate = simplex.adequate_geometry(self.delta)
            if self._trust_region_part(simplex):
                break
            reduce_rho = self.bad_step and adequate and max(self.delta, self.dnorm) <= self.rho
            if self.bad_step and not adequate and not simplex.adequate_geometry(self.delta):
                if self._geometry_part(simplex):
                    break
            if reduce_rho and self._reduce_rho(simplex):
                break
            self.its.step(self.problem.expand(simplex.pole), float(simplex.fval[n]),
                          nfev=self.nf, maxcv=float(simplex.cval[n]))
        if self.info == RUNNING:
            self.info = MAXTR_REACHED

    def finish(self) -> CobylaOutcome:
        """After `iterate`: the last short step's point if due (as PRIMA), then the selection."""
        s = self.settings
        pole = self.simplex.pole
        z = self.problem.clip(pole + self.d)
        if (self.info == SMALL_TR_RADIUS and self.short
                and np.linalg.norm(z - pole) > 1e-3 * s.rhoend and self.nf < s.maxfun):
            self._evaluate(z)
        return self.select(max(self.cpen, CWEIGHT))

    def select(self, cweight: float) -> CobylaOutcome:
        z, f, cstrv = self.filter.select(cweight)
        return CobylaOutcome(z=z, f=f, cstrv=cstrv, info=self.info)


def run_cobyla(problem: CobylaProblem, settings: CobylaSettings,
               its: Iterations) -> CobylaOutcome:
    """Minimize over the free variables of ``problem`` from its (clipped) start."""
    run = _Run(problem, settings, its)
    z0 = problem.x0[~problem.fixed]
    simplex = run.initialise(z0)
    if simplex is None:
        return run.select(CWEIGHT)
    run.iterate(simplex)
    return run.finish()
