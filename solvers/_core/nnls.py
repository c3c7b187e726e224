"""Non-negative least squares by Lawson and Hanson's active-set algorithm (numpy only).

Solves ``min ||E u - f||`` subject to ``u >= 0`` (Lawson & Hanson, *Solving Least Squares
Problems*, 1974, ch. 23).  Columns enter the passive set by largest dual value ``w = E^T r``
(``r`` the residual) after two tests, as in Lawson and Hanson's code: the column must be
linearly independent of the passive ones, and its own coefficient in the least-squares solution
on the enlarged set must be positive.  Columns leave when the unconstrained least-squares
solution on the passive set would turn non-positive.  The orthonormal basis ``Q`` of the passive
columns from the last least-squares solve is reused by the independence test and gives the
residual as the projection of ``f`` off the passive columns (see `_residual`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from .small_linalg import qr, solve

__all__ = ["nnls"]

FloatArray = npt.NDArray[np.float64]

#: return codes, as the LSQ codes of SLSQP use them
NNLS_OK, NNLS_BAD_SIZE, NNLS_MAXITER = 1, 2, 3


def _least_squares(columns: FloatArray, f: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Least-squares coefficients of ``f`` on linearly independent ``columns`` (m, k), and
    the orthonormal basis (m, k) of their span (the reduced Q factor); overwrites
    ``columns``."""
    q, r = qr(columns, overwrite=True)   # columns: a scratch copy (see `_columns`)
    return solve(r, q.T @ f), q


def _norm(v: FloatArray) -> float:
    """``numpy.linalg.norm`` of a contiguous vector, bit for bit."""
    return math.sqrt(float(v.dot(v)))


def _independent(basis: FloatArray | None, candidate: FloatArray) -> bool:
    """Lawson-Hanson's test: the part of ``candidate`` outside the span of the passive columns
    (orthonormal ``basis``, None when there are none) must not vanish next to the part
    inside it."""
    if basis is None:
        for v in candidate.tolist():
            if v != 0.0:
                return True
        return False
    inside = basis.T @ candidate
    outside = candidate - basis @ inside
    unorm = math.sqrt(float(inside.dot(inside)))           # numpy.linalg.norm, bit for bit
    pivot = math.sqrt(float(outside.dot(outside)))
    return (unorm + 0.01 * pivot) - unorm > 0.0


def _enter_column(e: FloatArray, f: FloatArray, basis: FloatArray | None, passive: list[int],
                  resid: FloatArray) -> tuple[FloatArray, FloatArray] | None:
    """Move the free column with the largest dual value ``w = E^T r`` into ``passive``, and
    return the least-squares coefficients ``z`` and basis on the enlarged set; None when
    ``w <= 0`` for every free column (a KKT point).

    A candidate is rejected (its ``w`` zeroed, the next one tried) when it is numerically
    dependent on the passive columns, or when its own coefficient in ``z`` is not positive.
    In exact arithmetic ``w_j > 0`` makes that coefficient positive; in rounding, a column
    nearly dependent on the passive ones (in LDP's dual: the rows ``s_i >= l_i`` and
    ``-s_i >= -u_i`` of one variable, opposite but for their ``h`` entries) can show a tiny
    positive ``w_j`` yet a negative coefficient.  Admitting it, the inner loop drops it again
    at once with nothing changed, and the next outer step picks it again: a cycle that only
    the iteration limit ends (SLSQP's exit mode 3).
    """
    w = e.T @ resid
    if passive:
        w.put(passive, 0.0)
    while True:
        j = int(w.argmax())
        if w.item(j) <= 0.0:
            return None
        if _independent(basis, e[:, j]):
            z, enlarged_basis = _least_squares(_columns(e, passive + [j]), f)
            if z.item(-1) > 0.0:
                passive.append(j)
                return z, enlarged_basis
        w[j] = 0.0


def nnls(e: FloatArray, f: FloatArray, maxiter: int) -> tuple[FloatArray, float, int]:
    """Solve ``min ||e @ u - f||`` subject to ``u >= 0``.

    Parameters
    ----------
    e : ndarray, shape (m, n)
    f : ndarray, shape (m,)
    maxiter : int
        Limit on inner (least-squares) iterations; reaching it returns code 3.

    Returns
    -------
    u : ndarray, shape (n,)
    rnorm : float
        ``||e @ u - f||`` (0.0 when the passive set fills all ``m`` rows).
    code : int
        1 solved, 2 empty problem, 3 iteration limit.
    """
    m, n = e.shape
    u = np.zeros(n)
    if m <= 0 or n <= 0:
        return u, 0.0, NNLS_BAD_SIZE
    passive: list[int] = []
    basis: FloatArray | None = None       # orthonormal basis of e[:, passive]
    resid = f.astype(float)
    iteration = 0
    while len(passive) < min(m, n):
        entered = _enter_column(e, f, basis, passive, resid)
        if entered is None:
            break
        z, basis = entered
        while True:
            iteration += 1
            if iteration >= maxiter:
                return u, _norm(e @ u - f), NNLS_MAXITER
            if _all_positive(z.tolist()):
                break
            z, basis = _drop_infeasible(e, f, u, z, passive)
        u.put(passive, z)
        resid = _residual(f, basis)
    rnorm = 0.0 if len(passive) >= m else _norm(e @ u - f)
    return u, rnorm, NNLS_OK


def _residual(f: FloatArray, basis: FloatArray | None) -> FloatArray:
    """The residual of the least-squares fit of ``f`` on the passive columns, ``f - Q Q^T f``
    (``basis`` = Q; None: no passive column).

    The dual values ``w = E^T r`` are tiny differences of large numbers when the columns
    are large (LDP's dual stacks bound rows and ``h`` values many orders apart): ``r`` must
    be orthogonal to the passive columns to rounding relative to ``|r|``, not to ``|f|``, or
    ``w`` takes wrong signs and NNLS stops early or picks a column whose coefficient turns
    out negative.  ``f - E_P z`` cancels to a few correct digits; one projection leaves a
    part of size ``eps |f|`` inside the span, which a second projection removes (Gram-Schmidt
    twice).  Lawson-Hanson's Householder form gets the same accuracy by reading ``r`` and
    the candidate columns in the rotated coordinates.
    """
    if basis is None:
        return f.astype(float)
    once = f - basis.dot(basis.T.dot(f))       # (ndarray.dot: less call overhead than @)
    return once - basis.dot(basis.T.dot(once))


def _drop_infeasible(e: FloatArray, f: FloatArray, u: FloatArray, z: FloatArray,
                     passive: list[int]) -> tuple[FloatArray, FloatArray | None]:
    """Move ``u`` towards ``z`` until a coefficient hits zero, free the zero ones, re-solve
    (returns the new ``z`` and basis; None when the passive set has emptied)."""
    up = u.take(passive)
    ratio = np.full(z.size, np.inf)
    neg = z <= 0.0
    ratio[neg] = -up[neg] / (z[neg] - up[neg])
    first = int(ratio.argmin())
    alpha = ratio[first]
    u.put(passive, up + alpha * (z - up))
    leaving = [passive[first]]
    leaving += [k for pos, k in enumerate(passive) if pos != first and u[k] <= 0.0]
    for k in leaving:
        u[k] = 0.0
        passive.remove(k)
    if not passive:
        return np.zeros(0), None
    return _least_squares(_columns(e, passive), f)


def _columns(e: FloatArray, index: list[int]) -> FloatArray:
    """``e[:, index]``, the same array in the same (Fortran) memory layout, faster."""
    return e.T.take(index, axis=0).T


def _all_positive(values: list[float]) -> bool:
    for v in values:
        if not v > 0.0:
            return False
    return True
