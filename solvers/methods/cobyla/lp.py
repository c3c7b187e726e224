"""COBYLA's trust-region linear program: the step ``d`` of one COBYLA iteration.

Given linear models of the constraints, ``A.T @ d <= b`` (``A`` of shape (n, m), one column per
constraint gradient), and of the objective (gradient ``g``), the step is found in two stages
inside the ball ``||d|| <= delta`` (Powell 1994, section 3, and the PRIMA reference
implementation of COBYLA's ``trstlp``):

1. starting from ``d = 0``, move along piecewise-linear paths to the shortest ``d`` that
   minimises the greatest violation ``max(0, max(A.T @ d - b))``;
2. if that ``d`` is strictly inside the ball, use the remaining freedom to decrease ``g @ d``
   without increasing any violation beyond the stage-1 value.

Both stages are active-set methods: the gradients of the active constraints are kept in a QR
factorisation (``z`` orthogonal, ``zdota`` the diagonal of R) updated by Givens rotations when a
constraint joins or leaves the active set, and the Lagrange multipliers of the active constraints
are kept non-negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = ["trust_region_lp_step", "is_minor"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

_EPS = float(np.finfo(float).eps)
_HUGE = float(np.finfo(float).max)
_TINY = float(np.finfo(float).tiny)


def is_minor(x: npt.ArrayLike, ref: npt.ArrayLike) -> npt.NDArray[np.bool_]:
    """True where ``x`` is zero up to the rounding errors of a sum with ``ref`` (Powell's test)."""
    absref = np.abs(ref)
    refa = absref + 0.1 * np.abs(x)
    refb = absref + 0.2 * np.abs(x)
    return np.logical_or(absref >= refa, refa >= refb)


def givens(a: float, b: float) -> tuple[float, float]:
    """Return ``(c, s)`` with ``[[c, s], [-s, c]] @ [a, b] = [hypot(a, b), 0]``.

    Continuous in ``(a, b)`` away from the origin; the identity for NaN or a zero vector.
    """
    if np.isnan(a) or np.isnan(b) or (a == 0 and b == 0):
        return 1.0, 0.0
    if np.isinf(a) and np.isinf(b):
        return float(np.sign(a)) / np.sqrt(2), float(np.sign(b)) / np.sqrt(2)
    if abs(b) <= _EPS * abs(a):
        return float(np.sign(a)), 0.0
    if abs(a) <= _EPS * abs(b):
        return 0.0, float(np.sign(b))
    if np.sqrt(_TINY) < min(abs(a), abs(b)) and max(abs(a), abs(b)) < np.sqrt(_HUGE / 2.1):
        r = float(np.sqrt(a * a + b * b))
        return a / r, b / r
    r = float(np.hypot(a, b))
    return a / r, b / r


def _qr_add(c: FloatArray, z: FloatArray, zdota: FloatArray, nact: int) -> int:
    """Append column ``c`` to the factorised active gradients (``z``, ``zdota`` in place).

    Rotates ``z[:, nact:]`` so that ``c`` has a single component beyond the active ones.  When
    ``c`` is (numerically) in the span of the active columns, the last active column is replaced
    instead and ``nact`` is unchanged.  Returns the new ``nact``.
    """
    n = z.shape[1]
    cz = c @ z
    cza = np.abs(c) @ np.abs(z)
    cz[is_minor(cz, cza)] = 0.0
    for k in range(n - 2, nact - 1, -1):
        if abs(cz[k + 1]) > 0:
            cos, sin = givens(cz[k], cz[k + 1])
            zk, zk1 = z[:, k].copy(), z[:, k + 1].copy()
            z[:, k], z[:, k + 1] = cos * zk + sin * zk1, cos * zk1 - sin * zk
            cz[k] = np.hypot(cz[k], cz[k + 1])
    if nact < n and abs(cz[nact]) > _EPS**2 and not is_minor(cz[nact], cza[nact]):
        nact += 1
    if 0 <= nact - 1 < n:
        zdota[nact - 1] = cz[nact - 1]
    return nact


def _qr_move_to_end(cols: FloatArray, z: FloatArray, zdota: FloatArray, i: int) -> None:
    """Re-factorise after moving active column ``i`` of ``cols`` (n, k) to the end (in place)."""
    k = cols.shape[1]
    if i < 0 or i >= k:
        return
    for j in range(i, k - 1):
        cos, sin = givens(zdota[j + 1], float(z[:, j] @ cols[:, j + 1]))
        zj, zj1 = z[:, j].copy(), z[:, j + 1].copy()
        z[:, j], z[:, j + 1] = cos * zj1 + sin * zj, cos * zj - sin * zj1
    for j in range(i, k - 1):
        zdota[j] = z[:, j] @ cols[:, j + 1]
    zdota[k - 1] = z[:, k - 1] @ cols[:, i]


def _lstsq(a: FloatArray, rhs: FloatArray) -> FloatArray:
    return cast(FloatArray, np.linalg.lstsq(a, rhs, rcond=None)[0])


@dataclass
class _ActiveSet:
    """The state shared by the two stages (arrays sized for stage 2: m + 1 columns)."""

    iact: IntArray        # permutation of the column indices; the first nact are active
    nact: int
    d: FloatArray         # the current step, shape (n,)
    vmultc: FloatArray    # multipliers of the active columns, then residuals of the others
    z: FloatArray         # (n, n) orthogonal: first nact columns span the active gradients
    zdota: FloatArray     # diagonal of R in the factorisation of the active gradients


def _step_length(sdirn: FloatArray, d: FloatArray, delta: float) -> float | None:
    """Distance along ``sdirn`` from ``d`` to the sphere of radius ``delta`` (None: stop)."""
    dd = delta * delta - d @ d
    ss = sdirn @ sdirn
    sd = sdirn @ d
    if dd <= 0 or ss <= _EPS * delta * delta or np.isnan(sd):
        return None
    root = max(np.sqrt(ss * dd + sd * sd), abs(sd), np.sqrt(ss * dd))
    step = dd / (root + sd) if sd > 0 else (root - sd) / ss
    if step <= 0 or not np.isfinite(step):
        return None
    return float(step)


def _add_constraint(st: _ActiveSet, icon: int, stage: int, A: FloatArray, mcon: int,
                    ncon: int) -> bool:
    """Bring column ``iact[icon]`` into the active set; False when the stage must end."""
    nact_before = st.nact
    st.nact = _qr_add(A[:, st.iact[icon]], st.z, st.zdota, st.nact)
    nact = st.nact
    if nact == nact_before + 1:
        if nact != icon + 1:
            st.vmultc[[icon, nact - 1]] = st.vmultc[nact - 1], 0.0
            st.iact[[icon, nact - 1]] = st.iact[[nact - 1, icon]]
        else:
            st.vmultc[nact - 1] = 0.0
        return True
    # the new gradient depends on the active ones: it replaces the last active constraint
    vmultd = _lstsq(A[:, st.iact[:nact]], A[:, st.iact[icon]])
    usable = (vmultd > 0) & (st.iact[:nact] <= ncon)
    if not usable.any():
        return False
    ratios = np.full(nact, _HUGE)
    ratios[usable] = st.vmultc[:nact][usable] / vmultd[usable]
    leaving = int(np.argmin(ratios))
    frac = float(ratios[leaving])
    st.vmultc[:nact] = np.maximum(0.0, st.vmultc[:nact] - frac * vmultd)
    st.vmultc[leaving] = 0.0  # exactly, not up to rounding (avoids degenerate stalls)
    if np.isnan(st.zdota[nact - 1]) or abs(st.zdota[nact - 1]) <= _EPS**2:
        return False
    st.vmultc[[icon, nact - 1]] = 0.0, frac
    st.iact[[icon, nact - 1]] = st.iact[[nact - 1, icon]]
    return True


def _direction_after_add(st: _ActiveSet, sdirn: FloatArray, stage: int, A: FloatArray,
                         mcon: int) -> FloatArray | None:
    nact = st.nact
    if stage == 2 and st.iact[nact - 1] != mcon - 1:  # keep the objective last
        if nact <= 1:
            return None
        _qr_move_to_end(A[:, st.iact[:nact]], st.z, st.zdota, nact - 2)
        st.iact[[nact - 2, nact - 1]] = st.iact[[nact - 1, nact - 2]]
        st.vmultc[[nact - 2, nact - 1]] = st.vmultc[[nact - 1, nact - 2]]
    last = st.zdota[nact - 1]
    if np.isnan(last) or abs(last) <= _EPS**2:
        return None
    if stage == 1:
        return sdirn - ((sdirn @ A[:, st.iact[nact - 1]] + 1.0) / last) * st.z[:, nact - 1]
    return -st.z[:, nact - 1] / last


def _drop_constraint(st: _ActiveSet, icon: int, sdirn: FloatArray, stage: int,
                     A: FloatArray) -> FloatArray | None:
    """Remove active constraint ``icon`` (its multiplier reached zero); return the direction."""
    nact = st.nact
    _qr_move_to_end(A[:, st.iact[:nact]], st.z, st.zdota, icon)
    st.iact[icon:nact] = np.roll(st.iact[icon:nact], -1)
    st.vmultc[icon:nact] = np.roll(st.vmultc[icon:nact], -1)
    st.nact = nact = nact - 1
    if stage == 2 and nact < 0:
        return None
    if nact > 0 and (np.isnan(st.zdota[nact - 1]) or abs(st.zdota[nact - 1]) <= _EPS**2):
        return None
    if stage == 1:
        return sdirn - (sdirn @ st.z[:, nact]) * st.z[:, nact]
    if nact == 0:
        return None
    return -st.z[:, nact - 1] / st.zdota[nact - 1]


def _stage(st: _ActiveSet, stage: int, A: FloatArray, b: FloatArray, delta: float) -> None:
    """Run stage 1 (``A``, ``b`` without the objective column) or stage 2 (with it)."""
    n, mcon = A.shape
    if stage == 1:
        st.iact[:mcon] = np.arange(mcon)
        st.nact = 0
        st.d = np.zeros(n)
        cviol = max(0.0, float(np.max(-b, initial=0.0)))
        st.vmultc[:mcon] = cviol + b
        st.z = np.eye(n)
        if mcon == 0 or cviol <= 0 or np.all(np.isnan(b)):
            return
        icon = int(np.nanargmax(-b))
        ncon = mcon
        sdirn = np.zeros(n)
    else:
        if st.d @ st.d >= delta * delta:
            return
        st.iact[mcon - 1] = mcon - 1
        st.vmultc[mcon - 1] = 0.0
        ncon = mcon - 1
        icon = mcon - 1
        cviol = max(0.0, float(np.max(st.d @ A[:, :ncon] - b[:ncon], initial=0.0)))
        sdirn = np.zeros(n)
    for k in range(st.nact):
        st.zdota[k] = st.z[:, k] @ A[:, st.iact[k]]
    best, nact_best, stalls = _HUGE, st.nact, 0
    for _ in range(min(10000, 100 * max(ncon, n))):
        progress = cviol if stage == 1 else float(st.d @ A[:, mcon - 1])
        if progress < best or st.nact > nact_best:
            nact_best, stalls = st.nact, 0
        else:
            stalls += 1
        best = min(best, progress)
        if stalls == 3:
            break
        if icon >= st.nact:
            if not _add_constraint(st, icon, stage, A, mcon, ncon):
                break
            new_dir = _direction_after_add(st, sdirn, stage, A, mcon)
        else:
            new_dir = _drop_constraint(st, icon, sdirn, stage, A)
        if new_dir is None:
            break
        sdirn = new_dir
        step = _step_length(sdirn, st.d, delta)
        if step is None:
            break
        if stage == 1:
            if is_minor(cviol, step):
                break
            step = min(step, cviol)
        outcome = _move(st, stage, A, b, sdirn, step, cviol, mcon)
        if outcome is None:
            break
        icon, cviol = outcome
        if icon < 0 or icon >= mcon:
            break


def _move(st: _ActiveSet, stage: int, A: FloatArray, b: FloatArray, sdirn: FloatArray,
          step: float, cviol: float, mcon: int) -> tuple[int, float] | None:
    """Step towards ``d + step * sdirn`` until a multiplier or residual hits zero.

    Returns the index (into ``iact``) of the constraint that blocked the move (-1 for a full
    step) and the new violation, or None when the numbers stopped being finite.
    """
    nact, iact = st.nact, st.iact[:mcon]
    dnew = st.d + step * sdirn
    if stage == 1:
        act = iact[:nact]
        cviol = max(0.0, float(np.max(dnew @ A[:, act] - b[act], initial=0.0)))
    vmultd = np.zeros(mcon)
    vmultd[:nact] = -_lstsq(A[:, iact[:nact]], dnew)
    if stage == 2:
        vmultd[nact - 1] = max(0.0, vmultd[nact - 1])
    shift = cviol - (dnew @ A[:, iact] - b[iact])
    scale = np.abs(dnew) @ np.abs(A[:, iact]) + np.abs(b[iact]) + cviol
    shift[is_minor(shift, scale)] = 0.0
    vmultd[nact:] = shift[nact:]
    vmultc = st.vmultc[:mcon]
    ratios = np.full(mcon, _HUGE)
    neg = vmultd < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios[neg] = vmultc[neg] / (vmultc[neg] - vmultd[neg])
    candidates = np.concatenate(([1.0], ratios))
    icon = int(np.argmin(candidates)) - 1
    frac = float(candidates[icon + 1])
    d = (1 - frac) * st.d + frac * dnew
    new_mult = np.maximum(0.0, (1 - frac) * vmultc + frac * vmultd)
    if not (np.isfinite(np.sum(np.abs(d))) and np.isfinite(np.sum(new_mult))):
        return None
    st.d = d
    st.vmultc[:mcon] = new_mult
    if stage == 1:
        cviol = max(0.0, float(np.max(d @ A - b, initial=0.0)))
    return icon, cviol


def trust_region_lp_step(A: FloatArray, b: FloatArray, delta: float,
                         g: FloatArray) -> FloatArray:
    """Return COBYLA's trust-region step (see module docstring).

    Parameters
    ----------
    A : ndarray, shape (n, m)
        Gradients of the linearised constraints, one per column; they read ``A.T @ d <= b``.
    b : ndarray, shape (m,)
        Right-hand sides (minus the constraint values at the current point).
    delta : float
        Trust-region radius (> 0).
    g : ndarray, shape (n,)
        Gradient of the linear model of the objective.

    Returns
    -------
    ndarray, shape (n,)
        The step, with ``||d|| <= delta`` up to rounding.
    """
    n, m = A.shape
    a_aug = np.hstack([A, g.reshape(n, 1)])
    b_aug = np.append(b, 0.0)
    big = np.max(np.abs(a_aug), axis=0) > 1e12
    if big.any():  # scale huge gradients down, as the reference implementation does
        scale = np.maximum(2 * _TINY, 1.0 / np.max(np.abs(a_aug[:, big]), axis=0))
        a_aug[:, big] *= scale
        b_aug[big] *= scale
    st = _ActiveSet(iact=np.zeros(m + 1, dtype=np.intp), nact=0, d=np.zeros(n),
                    vmultc=np.zeros(m + 1), z=np.eye(n), zdota=np.zeros(n))
    _stage(st, 1, a_aug[:, :m], b_aug[:m], delta)
    _stage(st, 2, a_aug, b_aug, delta)
    return st.d
