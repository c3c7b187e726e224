"""TNC's search direction: a truncated, preconditioned conjugate-gradient solve of ``H p = -g``.

Nash's truncated Newton (SIAM J. Numer. Anal. 21, 1984) solves the Newton equations only
approximately: a linear CG iteration on the free variables, with Hessian-vector products taken
by the caller (forward differences of the gradient), stopped when the quadratic model
``q(p) = g.p + p.H.p / 2`` stops decreasing fast enough (``k (1 - q_{k-1} / q_k) <= 1/2``),
when a direction of non-positive curvature appears, or after ``maxCGit`` products.

The CG iteration is preconditioned by `Preconditioner`: a two-step limited-memory BFGS
inverse built on a diagonal matrix ``diagb``.  The pairs are the last step and gradient change
``(sk, yk)`` and, unless the cycle was reset, the step and gradient change accumulated since the
last reset ``(sr, yr)``.  The diagonal itself is updated during each CG run by a diagonal BFGS
formula fed with the CG's own curvature pairs (``diagonal_scaling``).  All vectors have shape
(n,) and live in TNC's scaled variables.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .blas import ddot
from .linesearch import ieee_div

__all__ = ["Preconditioner", "truncated_newton_direction", "project", "free_mask"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
_CG_TINY = 1e-12  # relative size of r.z or v.H.v that truncates the CG ("emergency")


def project(v: FloatArray, free: BoolArray | None) -> FloatArray:
    """``v`` with the components of the constrained (not free) variables set to zero.

    ``free`` None means every variable is free: ``v`` itself is returned (never modified).
    """
    return v if free is None else np.where(free, v, 0.0)


def free_mask(pivot: npt.NDArray[np.int64]) -> BoolArray | None:
    """The free variables (``pivot == 0``) for `project`; None when all are free."""
    free = pivot == 0
    return None if free.all() else free


def _ssbfgs(sj: FloatArray, hjv: FloatArray, hjyj: FloatArray, yjsj: float, yjhyj: float,
            vsj: float, vhyj: float) -> FloatArray:
    """One self-scaled BFGS update of an inverse applied to ``v``: ``H_{j+1} v``.

    ``hjv = H_j v``, ``hjyj = H_j y_j``; the scalars are the products named (``s_j.v`` is
    ``vsj``); a zero ``y_j.s_j`` leaves ``H_j v`` unchanged.
    """
    if yjsj == 0.0:
        delta = beta = 0.0
    else:
        delta = (yjhyj / yjsj + 1.0) * vsj / yjsj - vhyj / yjsj
        beta = -vsj / yjsj
    return hjv + delta * sj + beta * hjyj


class Preconditioner:
    """The limited-memory quasi-Newton state that preconditions TNC's CG (see module doc).

    Attributes
    ----------
    diagb : ndarray, shape (n,)
        Diagonal approximation of the Hessian (1 at the start and after each rescaling).
    first : bool
        No pair stored yet (``upd1``): the preconditioner is ``diag(1 / diagb)``.
    reset : bool
        Use only the last pair ``(sk, yk)`` (``lreset``); else also the accumulated one.
    sk, yk, sr, yr : ndarray, shape (n,)
        Last step and gradient change; accumulated step and gradient change.
    yksk, yrsr : float
        ``yk.sk`` and ``yr.sr``.
    """

    def __init__(self, n: int) -> None:
        self.diagb = np.ones(n)
        self.first = True
        self.reset = False
        self.sk = np.zeros(n)
        self.yk = np.zeros(n)
        self.sr = np.zeros(n)
        self.yr = np.zeros(n)
        self.yksk = 0.0
        self.yrsr = 0.0

    def restart(self) -> None:
        """Forget every pair and the diagonal (after the objective is rescaled)."""
        self.diagb = np.ones(self.diagb.size)
        self.first = True

    def cg_diagonal(self) -> FloatArray:
        """The diagonal BFGS update of ``diagb`` by the stored pairs (start of the CG run)."""
        td = self.diagb
        if self.first:
            return td.copy()
        yksk = self.yksk if self.yksk != 0.0 else 1.0
        sk, yk = self.sk, self.yk
        if self.reset:
            sds = ddot(sk, td * sk)
            sds = sds if sds != 0.0 else 1.0
            return td - td * td * sk * sk / sds + yk * yk / yksk
        sr, yr = self.sr, self.yr
        bsr = td * sr
        sds = ddot(sr, bsr)
        srds = ddot(sk, bsr)
        yrsk = ddot(yr, sk)
        yrsr = self.yrsr if self.yrsr != 0.0 else 1.0
        sds = sds if sds != 0.0 else 1.0
        bsk = td * sk - bsr * srds / sds + yr * yrsk / yrsr
        emat = td - td * td * sr * sr / sds + yr * yr / yrsr
        sds = ddot(sk, bsk)
        sds = sds if sds != 0.0 else 1.0
        # scipy's tnc.c (since its 2021 reformatting) subtracts the yk term here too:
        # ``emat -= bsk^2 / sds + yk^2 / yksk``; kept, so that the iterates are scipy's
        return emat - (bsk * bsk / sds + yk * yk / yksk)

    def solver(self) -> Callable[[FloatArray], FloatArray]:
        """Return ``g -> M^{-1} g`` for the current state (the parts without ``g`` precomputed)."""
        if self.first:
            diagb = self.diagb
            return lambda g: g / diagb
        rdiagb = 1.0 / self.diagb
        sk, yk, yksk = self.sk, self.yk, self.yksk
        hyk = yk * rdiagb
        if self.reset:
            ykhyk = ddot(yk, hyk)

            def solve_one_pair(g: FloatArray) -> FloatArray:
                return _ssbfgs(sk, g * rdiagb, hyk, yksk, ykhyk, ddot(g, sk), ddot(g, hyk))
            return solve_one_pair
        sr, yr, yrsr = self.sr, self.yr, self.yrsr
        hyr = yr * rdiagb
        yrhyr = ddot(yr, hyr)
        hyk = _ssbfgs(sr, hyk, hyr, yrsr, yrhyr, ddot(yk, sr), ddot(yk, hyr))
        ykhyk = ddot(hyk, yk)

        def solve_two_pairs(g: FloatArray) -> FloatArray:
            hg = _ssbfgs(sr, g * rdiagb, hyr, yrsr, yrhyr, ddot(g, sr), ddot(g, hyr))
            return _ssbfgs(sk, hg, hyk, yksk, ykhyk, ddot(g, sk), ddot(hyk, g))
        return solve_two_pairs


def diagonal_scaling(e: FloatArray, v: FloatArray, gv: FloatArray, r: FloatArray) -> None:
    """Diagonal BFGS update of ``e`` (in place) with the CG pair ``(v, H v)``, floor 1e-6 -> 1."""
    vr = ieee_div(1.0, ddot(v, r))
    vgv = ieee_div(1.0, ddot(v, gv))
    if np.isfinite(vr) and np.isfinite(vgv):
        e += -r * r * vr + gv * gv * vgv
    else:  # a degenerate pair: IEEE arithmetic as the reference computes it
        with np.errstate(all="ignore"):
            e += -r * r * vr + gv * gv * vgv
    e[e <= 1e-6] = 1.0


def truncated_newton_direction(g: FloatArray, gnorm: float, free: BoolArray | None,
                               pre: Preconditioner, hessp: Callable[[FloatArray], FloatArray],
                               max_cg: int, can_evaluate: Callable[[], bool]) -> FloatArray:
    """Approximate Newton direction ``p ~ -H^{-1} g`` on the free variables, shape (n,).

    Parameters
    ----------
    g : ndarray, shape (n,)
        Projected (scaled) gradient; ``gnorm`` is its norm.
    free : ndarray of bool, shape (n,), or None
        The variables not held at a bound (None: all, see `free_mask`).
    pre : Preconditioner
        Its ``diagb`` is replaced by the diagonal updated during this CG run.
    hessp : callable
        ``v -> H v`` (one counted evaluation of the gradient each).
    max_cg : int
        Most Hessian-vector products (0: steepest descent ``-g``).
    can_evaluate : callable
        False when the evaluation budget leaves no room for another product.
    """
    if max_cg == 0:
        return project(-g, free)
    emat = pre.cg_diagonal()
    solve = pre.solver()
    r = -g
    v = np.zeros_like(g)
    zsol = np.zeros_like(g)
    qold = rzold = 0.0
    for k in range(max_cg):
        r = project(r, free)
        zk = project(solve(r), free)
        rz = ddot(r, zk)
        if ieee_div(rz, gnorm) < _CG_TINY or not can_evaluate():
            if k == 0:
                zsol = project(-g, free)
            break
        beta = 0.0 if k == 0 else rz / rzold
        v = project(zk + beta * v, free)
        gv = project(hessp(v), free)
        vgv = ddot(v, gv)
        if ieee_div(vgv, gnorm) < _CG_TINY:  # non-positive curvature
            if k == 0:
                zsol = project(-solve(g), free)
            break
        diagonal_scaling(emat, v, gv, r)
        alpha = rz / vgv
        zsol = zsol + alpha * v
        r = r - alpha * gv
        gtp = ddot(zsol, g)
        qnew = (gtp + ddot(r, zsol)) * 0.5
        if (k + 1) * (1.0 - ieee_div(qold, qnew)) <= 0.5:
            break
        if gtp > 0.0:  # not a descent direction any more: undo the last step
            zsol = zsol - alpha * v
            break
        qold, rzold = qnew, rz
    pre.diagb = emat
    return zsol
