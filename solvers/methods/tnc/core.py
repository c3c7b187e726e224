"""The TNC main loop: Nash's bound-constrained truncated Newton method (as scipy's TNC runs it).

Each iteration (in scaled variables, see `_tnc_active.Scaling`):

1. stop when the projected gradient is below ``pgtol`` or ``maxfun`` evaluations are spent;
2. rescale f so that the projected gradient has unit norm when its norm is off by more than
   ``10**rescale`` (the preconditioner is restarted);
3. find a direction by truncated preconditioned CG (`_tnc_direction`) with Hessian-vector
   products ``(g(z + d v) - g(z)) / d``, ``d = accuracy (|z_free| + 1)``;
4. search along it (`_tnc_linesearch.StepFinder`) up to the nearest bound and ``stepmx``
   (which grows 100-fold whenever the step reaches 90% of it);
5. update the active set: add the bounds the step reached, drop one with a wrong-signed
   multiplier when progress is slow; without a change of active set, stop when
   ``|f_k - f_{k-1}| <= ftol`` (status 1) or ``|z_k - z_{k-1}| <= xtol`` (status 2);
6. store the step and gradient change for the preconditioner (reset every n - 1 iterations or
   when the reduction in f since the last reset is large).

``nfeval`` counts calls of the objective-and-gradient pair (what ``maxfun`` limits); the
objective itself counts individual function evaluations (the result's ``nfev``).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.objective import ScalarObjective
from .active import Scaling, add_constraints, drop_constraint, initial_pivot, max_step
from .blas import ddot, dnrm2
from .direction import Preconditioner, free_mask, project, truncated_newton_direction
from .linesearch import EPS, RTEPS, StepCode, StepFinder, ieee_div

__all__ = ["TncSettings", "TncRun", "LOCAL_MINIMUM", "F_CONVERGED", "X_CONVERGED", "MAXFUN",
           "LS_FAIL", "CONSTANT", "NO_PROGRESS", "MSG_ITER"]

FloatArray = npt.NDArray[np.float64]

LOCAL_MINIMUM, F_CONVERGED, X_CONVERGED, MAXFUN, LS_FAIL, CONSTANT, NO_PROGRESS = range(7)
MSG_ITER = 1
_MAX_LS_ITERATIONS = 64
_LS_OK, _LS_MAXFUN, _LS_FAIL = 0, 1, 2


@dataclass(frozen=True)
class TncSettings:
    """TNC's options with its defaults resolved (``n`` variables)."""

    max_cg: int
    maxfun: int
    eta: float
    stepmx: float
    accuracy: float
    fmin: float
    ftol: float
    xtol: float
    pgtol: float
    rescale: float
    messages: int

    @classmethod
    def resolve(cls, n: int, *, maxCGit: int, maxfun: int, eta: float, stepmx: float,
                accuracy: float, minfev: float, ftol: float, xtol: float, gtol: float,
                rescale: float, messages: int) -> TncSettings:
        """Replace out-of-range values by TNC's defaults (see the runner's Options)."""
        max_cg = int(maxCGit)
        if max_cg < 0:
            max_cg = min(max(n // 2, 1), 50)
        max_cg = min(max_cg, n)
        accuracy = float(accuracy) if accuracy > EPS else RTEPS
        return cls(
            max_cg=max_cg, maxfun=int(maxfun),
            eta=float(eta) if 0.0 <= eta < 1.0 else 0.25,
            stepmx=float(stepmx) if stepmx >= RTEPS * 10.0 else 10.0,
            accuracy=accuracy, fmin=float(minfev),
            ftol=float(ftol) if ftol >= 0.0 else accuracy,
            xtol=float(xtol) if xtol >= 0.0 else RTEPS,
            pgtol=float(gtol) if gtol >= 0.0 else 1e-2 * math.sqrt(accuracy),
            rescale=float(rescale) if rescale >= 0.0 else 1.3, messages=int(messages))


def initial_step(f: float, fmin: float, gtp: float, smax: float) -> float:
    """First trial step: the one that would reach ``fmin`` on the linear model, else 1."""
    d = abs(f - fmin)
    alpha = 1.0
    if d * 2.0 <= -gtp and d >= EPS:
        alpha = d * -2.0 / gtp
    return smax if alpha >= smax else alpha


class TncRun:
    """One TNC minimisation from a feasible start (state of the main loop).

    Parameters
    ----------
    obj : ScalarObjective
        The counted objective.
    iterations : Iterations
        Receives the start and each iteration (callback, trace).
    x0, f0, g0 : ndarray, float, ndarray
        Feasible start (shape (n,)), its value and gradient (already evaluated).
    scaling : Scaling
        The variables' scaling and bounds.
    settings : TncSettings
        Resolved options.
    """

    # set by `solve` (the main loop's state)
    g: FloatArray
    gnorm: float
    f_last_constraint: float
    f_last_reset: float
    difnew: float
    epsred: float
    icycle: int
    newcon: bool

    def __init__(self, obj: ScalarObjective, iterations: Any, x0: FloatArray, f0: float,
                 g0: FloatArray, scaling: Scaling, settings: TncSettings) -> None:
        self.obj, self.its, self.sc, self.opt = obj, iterations, scaling, settings
        self.nfeval = 1
        self.fscale = 1.0
        self.stepmx = settings.stepmx
        self.z = scaling.to_z(x0)
        self.f = f0 * self.fscale
        self.gfull = g0
        self.pivot = initial_pivot(self.z, scaling)
        self.pre = Preconditioner(x0.size)
        self.constant = scaling.scale == 0.0

    # -- evaluations --------------------------------------------------------------------------
    def _evaluate(self, z: FloatArray) -> tuple[float, FloatArray]:
        """f and gradient (unscaled) at the point ``z`` maps to, clipped into the bounds."""
        self.nfeval += 1
        return self.obj.fun_and_grad(self.sc.to_x_in_bounds(z))

    def _scaled_gradient(self, gfull: FloatArray) -> FloatArray:
        return gfull * (self.sc.scale * self.fscale)

    def _hessp(self, v: FloatArray, g: FloatArray, xnorm: float) -> FloatArray:
        delta = self.opt.accuracy * (xnorm + 1.0)
        _, gfull_v = self._evaluate(self.z + delta * v)
        gv = (self._scaled_gradient(gfull_v) - g) * (1.0 / delta)
        gv[self.constant] = 0.0
        return gv

    # -- the line search ----------------------------------------------------------------------
    def _line_search(self, pk: FloatArray, alpha0: float, xbnd: float) -> tuple[int, float]:
        """Search along ``pk``; on success move ``z``, ``f``, ``gfull``.  Returns (code, step)."""
        gscale = self.sc.scale * self.fscale
        gu = ddot(self.gfull * gscale, pk)
        xnorm = dnrm2(project(self.z, free_mask(self.pivot)))
        pe = dnrm2(pk) + EPS
        finder = StepFinder(
            self.f, gu, alpha0, xbnd, reltol=RTEPS * (xnorm + 1.0) / pe,
            abstol=ieee_div(-EPS * (1.0 + abs(self.f)), gu - EPS),
            tnytol=EPS * (xnorm + 1.0) / pe, eta=self.opt.eta, fpresn=self.opt.ftol)
        code, count, best_g = finder.code, 0, None
        while code == StepCode.EVAL:
            count += 1
            if count > _MAX_LS_ITERATIONS or self.nfeval >= self.opt.maxfun:
                break
            trial = finder.xmin + finder.u
            fu, gfull_u = self._evaluate(self.z + trial * pk)
            code = finder.update(fu * self.fscale, ddot(gfull_u * gscale, pk))
            if finder.xmin == trial:
                best_g = gfull_u
        if code == StepCode.OK:
            self.f = finder.fmin
            self.z = self.z + finder.xmin * pk
            self.gfull = best_g  # type: ignore[assignment]
            return _LS_OK, finder.xmin
        if count > _MAX_LS_ITERATIONS or code != StepCode.EVAL:
            return _LS_FAIL, finder.xmin
        return _LS_MAXFUN, finder.xmin

    # -- the main loop ------------------------------------------------------------------------
    def _rescale(self, factor: float) -> None:
        self.f *= factor
        self.fscale *= factor
        self.gnorm *= factor
        self.f_last_constraint *= factor
        self.f_last_reset *= factor
        self.difnew *= factor
        self.g = self.g * factor
        self.pre.restart()
        self.icycle = self.n - 1
        self.newcon = True

    def solve(self) -> int:
        """Iterate until a stopping test holds; return TNC's status code (0 to 6)."""
        self.n = n = self.z.size
        g = self._scaled_gradient(self.gfull)
        self.pivot[-self.pivot * g < 0.0] = 0  # wrong-signed multipliers: start free
        self.g = project(g, free_mask(self.pivot))
        self.gnorm = dnrm2(self.g)
        self.f_last_constraint = self.f_last_reset = self.f
        self.difnew, self.epsred, self.icycle, self.newcon = 0.0, 0.05, n - 1, True
        self.alpha = 0.0
        if self.opt.messages & MSG_ITER:
            print("  NIT   NF   F                       GTG", file=sys.stderr)
            self._print_iteration()
        while True:
            rc = self._iterate()
            if rc is not None:
                break
        if self.opt.messages & MSG_ITER:
            self._print_iteration()
        return rc

    def _print_iteration(self) -> None:
        free = self.pivot == 0
        gtg = float(np.sum(self.gfull[free] ** 2))
        print(f" {self.its.nit:4d} {self.nfeval:4d} {self.f / self.fscale:22.15E}  {gtg:15.8E}",
              file=sys.stderr)

    def _direction(self) -> FloatArray:
        free = free_mask(self.pivot)
        xnorm = dnrm2(project(self.z, free))
        g = self.g
        budget = self.opt.maxfun - 1
        return truncated_newton_direction(
            g, self.gnorm, free, self.pre, lambda v: self._hessp(v, g, xnorm),
            self.opt.max_cg, lambda: self.nfeval < budget)

    def _iterate(self) -> int | None:
        """One outer iteration; a status code when the run ends."""
        opt, pre = self.opt, self.pre
        if dnrm2(self.g) <= opt.pgtol * self.fscale:
            return LOCAL_MINIMUM
        if self.nfeval >= opt.maxfun:
            return MAXFUN
        size = dnrm2(self.g)
        if size > EPS and abs(math.log10(size)) > opt.rescale:
            self._rescale(1.0 / size)
        nfeval_before = self.nfeval
        pk = self._direction()
        if not self.newcon:
            if not pre.reset:  # accumulate the steps since the last reset
                pre.sr = pre.sr + pre.sk
                pre.yr = pre.yr + pre.yk
                self.icycle += 1
            else:
                pre.sr, pre.yr = pre.sk.copy(), pre.yk.copy()
                self.f_last_reset = self.f
                self.icycle = 1
        oldg, oldf = self.g, self.f
        oldgtp = ddot(pk, self.g)
        rc = self._move(pk, oldgtp)
        if rc is not None:
            return rc
        if self.newcon:
            if not add_constraints(self.z, pk, self.pivot, self.sc) and (
                    self.nfeval == nfeval_before):
                return NO_PROGRESS
            self.f_last_constraint = self.f
        self.its.step(self.sc.to_x(self.z), self.f / self.fscale, self.gfull)
        return self._after_step(pk, oldg, oldf, oldgtp)

    def _move(self, pk: FloatArray, oldgtp: float) -> int | None:
        """Line search along ``pk`` within the bounds; sets ``alpha`` and ``newcon``."""
        unconstrained_max = self.stepmx / (dnrm2(pk) + EPS)
        spe = max_step(unconstrained_max, self.z, pk, self.pivot, self.sc)
        if spe <= 0.0:  # a bound blocks the direction: new constraint
            self.newcon = True
            return None
        alpha0 = initial_step(self.f, self.opt.fmin / self.fscale, oldgtp, spe)
        code, self.alpha = self._line_search(pk, alpha0, spe)
        if code == _LS_FAIL:
            return LS_FAIL
        if self.alpha >= 0.9 * unconstrained_max:
            self.stepmx *= 1e2
        if self.alpha - spe >= -EPS * 10.0:  # stopped on a bound
            self.newcon = True
            return None
        if code != _LS_OK:
            return MAXFUN
        self.newcon = False
        return None

    def _after_step(self, pk: FloatArray, oldg: FloatArray, oldf: float,
                    oldgtp: float) -> int | None:
        """Convergence tests, active-set release and the preconditioner's new pair."""
        difold, self.difnew = self.difnew, oldf - self.f
        if self.icycle == 1:
            if self.difnew > difold * 2.0:
                self.epsred += self.epsred
            if self.difnew < difold * 0.5:
                self.epsred *= 0.5
        g = self._scaled_gradient(self.gfull)
        self.gnorm = dnrm2(project(g, free_mask(self.pivot)))
        dropped = drop_constraint(oldgtp, self.gnorm, self.opt.pgtol * self.fscale, self.f,
                                  self.f_last_constraint, g, self.pivot)
        if dropped:
            self.gnorm = dnrm2(project(g, free_mask(self.pivot)))
            self.f_last_constraint = self.f
        if not dropped and not self.newcon:
            if abs(self.difnew) <= self.opt.ftol * self.fscale:
                return F_CONVERGED
            if self.alpha * dnrm2(pk) <= self.opt.xtol:
                return X_CONVERGED
        self.g = project(g, free_mask(self.pivot))
        if self.opt.messages & MSG_ITER:
            self._print_iteration()
        if not self.newcon:
            self._store_pair(pk, oldg)
        return None

    def _store_pair(self, pk: FloatArray, oldg: FloatArray) -> None:
        pre = self.pre
        pre.yk = self.g - oldg
        pre.sk = self.alpha * pk
        pre.yksk = ddot(pre.yk, pre.sk)
        if self.icycle == self.n - 1 or self.difnew < self.epsred * (self.f_last_reset - self.f):
            pre.reset = True
        else:
            pre.yrsr = ddot(pre.yr, pre.sr)
            pre.reset = pre.yrsr <= 0.0
        pre.first = False
