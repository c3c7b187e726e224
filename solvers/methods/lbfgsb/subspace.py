"""Subspace minimisation of L-BFGS-B over the variables free at the Cauchy point.

Direct primal method (Byrd, Lu, Nocedal & Zhu 1995, section 5.1): with ``Z`` selecting the free
variables, the reduced gradient of the model at the Cauchy point ``x^c`` is
``-r = Z^T (g + B (x^c - x))`` and the reduced Newton step is ``d_u = B_z^{-1} r`` with
``B_z = theta I - W_z M W_z^T``, ``W_z = Z^T W``.  By the Sherman-Morrison-Woodbury formula::

    d_u = r / theta + W_z (M^{-1} - W_z^T W_z / theta)^{-1} W_z^T r / theta^2

which needs one (2 col, 2 col) solve.  The step is then projected onto the box as proposed by
Morales & Nocedal (2011); when the projected point is not a descent direction from ``x`` the
step from ``x^c`` is instead shortened to the largest feasible fraction of ``d_u`` (the variable
that limits it is put exactly on its bound).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ..._core.small_linalg import solve
from .cauchy_point import CauchyPoint
from .memory import LbfgsMemory

__all__ = ["subspace_minimum", "max_feasible_step"]

FloatArray = npt.NDArray[np.float64]
_SMALL = 32            # up to this many variables, loop over Python floats


def max_feasible_step(x: FloatArray, d: FloatArray, lb: FloatArray, ub: FloatArray,
                      cap: float) -> tuple[float, int]:
    """Largest ``a <= cap`` with ``lb <= x + a d <= ub``, and the first variable limiting it.

    A variable already on (or past) the bound it moves towards limits the step to 0.  The index
    is -1 when ``cap`` is the limit.
    """
    gap = np.where(d < 0.0, lb - x, ub - x)
    ratio = np.maximum(np.divide(gap, d, out=np.full(d.size, np.inf), where=d != 0.0), 0.0)
    if ratio.size == 0:
        return cap, -1
    first = int(np.argmin(ratio))
    limit = float(ratio[first]) + 0.0  # turns -0.0 into 0.0
    if limit < cap:
        return limit, first
    return cap, -1


def _reduced_newton_step(r: FloatArray, free: npt.NDArray[np.intp] | None,
                         memory: LbfgsMemory) -> FloatArray:
    """``B_z^{-1} r`` for ``B_z = theta I - W_z M W_z^T`` over the ``free`` variables."""
    theta = memory.theta
    k_mat, wz = memory.reduced_matrix(free)
    v = solve(k_mat, wz @ r)
    du = v @ wz
    du /= theta * theta
    du += r / theta
    return du


def subspace_minimum(x: FloatArray, g: FloatArray, cauchy: CauchyPoint | None,
                     lb: FloatArray, ub: FloatArray, memory: LbfgsMemory) -> FloatArray:
    """Return the point ``z`` that L-BFGS-B searches towards from ``x``.

    ``cauchy`` is the Cauchy point, or None for a problem without bounds (then ``x^c = x`` and
    every variable is free).  Raises `numpy.linalg.LinAlgError` when the reduced system is
    singular (the caller then resets the memory).
    """
    if cauchy is None:
        return x + _reduced_newton_step(-g, None, memory)
    xcp = cauchy.x
    if memory.col == 0:
        return xcp
    wt, theta = memory.wt, memory.theta
    mc = memory.m_mat @ cauchy.c
    if cauchy.free.all():
        r = -theta * (xcp - x) - g + mc @ wt
        return _project(x, g, xcp, _reduced_newton_step(r, None, memory), lb, ub, None)
    free = np.flatnonzero(cauchy.free)
    if free.size == 0:
        return xcp
    r = -theta * (xcp[free] - x[free]) - g[free] + mc @ wt[:, free]
    return _project(x, g, xcp, _reduced_newton_step(r, free, memory), lb[free], ub[free], free)


def _project(x: FloatArray, g: FloatArray, xcp: FloatArray, du: FloatArray, lo: FloatArray,
             hi: FloatArray, free: npt.NDArray[np.intp] | None) -> FloatArray:
    """Move the free variables (all when ``free`` is None) of ``xcp`` by ``du``, into the box.

    The projected point is kept when it hits no bound or gives descent from ``x``; otherwise the
    largest feasible fraction of ``du`` is taken (Morales & Nocedal 2011).
    """
    start = xcp if free is None else xcp[free]
    if du.size <= _SMALL:
        trial, on_bound = _clip_small(start + du, lo, hi)
    else:
        trial = np.minimum(np.maximum(start + du, lo), hi)
        on_bound = bool(np.any((trial == lo) | (trial == hi)))
    if free is None:
        z = trial
    else:
        z = xcp.copy()
        z[free] = trial
    if not on_bound or float((z - x) @ g) <= 0.0:
        return z
    alpha, limiting = max_feasible_step(start, du, lo, hi, 1.0)
    moved = start + alpha * du
    if limiting >= 0:
        moved[limiting] = hi[limiting] if du[limiting] > 0.0 else lo[limiting]
    if free is None:
        return moved
    z[free] = moved
    return z


def _clip_small(v: FloatArray, lo: FloatArray, hi: FloatArray) -> tuple[FloatArray, bool]:
    """``np.minimum(np.maximum(v, lo), hi)`` on Python floats (numpy's NaN and tie rules), and
    whether an entry ends on a bound."""
    out = []
    on_bound = False
    for vi, low, high in zip(v.tolist(), lo.tolist(), hi.tolist()):
        vi = vi if vi > low or vi != vi else low
        vi = vi if vi < high or vi != vi else high
        on_bound = on_bound or vi == low or vi == high
        out.append(vi)
    return np.array(out), on_bound
