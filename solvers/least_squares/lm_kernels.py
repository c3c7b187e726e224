"""MINPACK's linear algebra for Levenberg-Marquardt: ``qrfac``, ``qrsolv`` and ``lmpar``.

`qr_pivoted` (Householder QR with column pivoting) works on numpy arrays, vectorised over the
m rows.  The n x n work that follows (`solve_damped`, `lm_parameter`) runs on Python lists of
floats in MINPACK's loop order: for the few parameters of a calibration that is several
times faster than numpy calls on tiny slices, and every sum is accumulated as MINPACK does.
Matrices there are lists of rows; ``ipvt`` lists the pivot order (column j of R is column
``ipvt[j]`` of A).
"""

from __future__ import annotations

from math import sqrt

import numpy as np
import numpy.typing as npt

__all__ = ["qr_pivoted", "solve_damped", "lm_parameter"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]
Matrix = list[list[float]]
_EPSMCH = float(np.finfo(float).eps)
_DWARF = float(np.finfo(float).tiny)


def qr_pivoted(a: FloatArray) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
    """MINPACK ``qrfac`` with pivoting on a copy of ``a`` (m, n), m >= n.

    Returns ``(qr, ipvt, rdiag, acnorm)``: the strict upper triangle of ``qr`` (m, n) holds
    R's off-diagonal entries and its lower part the Householder vectors, ``a[:, ipvt] = Q R``,
    ``rdiag`` R's diagonal and ``acnorm`` the column norms of ``a``.  (Worked on the
    transpose, so that every column operation is on contiguous memory.)
    """
    at = np.array(np.asarray(a, dtype=float).T)  # row j is column j
    n, m = at.shape
    acnorm = np.sqrt(np.einsum("ij,ij->i", at, at))
    rdiag, wa, ipvt = acnorm.tolist(), acnorm.tolist(), list(range(n))
    for j in range(min(m, n)):
        kmax = max(range(j, n), key=rdiag.__getitem__)  # the first largest, as MINPACK
        if kmax != j:
            at[[j, kmax]] = at[[kmax, j]]
            rdiag[kmax], wa[kmax] = rdiag[j], wa[j]
            ipvt[j], ipvt[kmax] = ipvt[kmax], ipvt[j]
        v = at[j, j:]
        ajnorm = sqrt(v.dot(v))
        if ajnorm != 0:
            if v[0] < 0:
                ajnorm = -ajnorm
            v /= ajnorm
            v[0] += 1
            if j + 1 < n:
                block = at[j + 1:, j:]
                block -= np.outer(block.dot(v) / v[0], v)
                _downdate_norms(at, j, rdiag, wa)
        rdiag[j] = -ajnorm
    return at.T, np.array(ipvt), np.array(rdiag), acnorm


def _downdate_norms(at: FloatArray, j: int, rdiag: list[float], wa: list[float]) -> None:
    """Update the remaining column norms after step ``j``, recomputing those where the
    update would lose accuracy (in place; ``at`` is the transposed work matrix)."""
    for k, top in enumerate(at[j + 1:, j].tolist(), start=j + 1):
        if rdiag[k] == 0:
            continue
        temp = top / rdiag[k]
        rdiag[k] *= sqrt(max(0.0, 1 - temp * temp))
        if 0.05 * (rdiag[k] / wa[k]) ** 2 <= _EPSMCH:
            rest = at[k, j + 1:]
            rdiag[k] = wa[k] = sqrt(rest.dot(rest))


def _norm(values: list[float]) -> float:
    return sqrt(sum(v * v for v in values))


def _rotation(a: float, b: float) -> tuple[float, float]:
    """MINPACK's ``(cos, sin)`` eliminating ``b`` against ``a``."""
    if abs(a) < abs(b):
        cotan = a / b
        sin = 0.5 / sqrt(0.25 + 0.25 * cotan * cotan)
        return sin * cotan, sin
    tan = b / a
    cos = 0.5 / sqrt(0.25 + 0.25 * tan * tan)
    return cos, cos * tan


def _qrsolv(R: Matrix, ipvt: list[int], diag: list[float], qtb: list[float]
            ) -> tuple[list[float], list[float], Matrix]:
    """MINPACK ``qrsolv`` on lists: ``x``, S's diagonal and S (lower triangle of the result,
    below R's diagonal) with ``P^T (A^T A + D^2) P = S^T S``."""
    n = len(R)
    W = [[R[j][i] if i > j else R[i][j] for j in range(n)] for i in range(n)]
    wa = list(qtb[:n])
    sdiag = [0.0] * n
    for j in range(n):
        dj = diag[ipvt[j]]
        if dj != 0:
            sd = [0.0] * n
            sd[j] = dj
            qtbpj = 0.0
            for k in range(j, n):
                sk = sd[k]
                if sk == 0:
                    continue
                rkk = W[k][k]
                cos, sin = _rotation(rkk, sk)
                W[k][k] = cos * rkk + sin * sk
                wa[k], qtbpj = cos * wa[k] + sin * qtbpj, -sin * wa[k] + cos * qtbpj
                for i in range(k + 1, n):
                    wik, si = W[i][k], sd[i]
                    W[i][k] = cos * wik + sin * si
                    sd[i] = -sin * wik + cos * si
        sdiag[j] = W[j][j]
        W[j][j] = R[j][j]
    nsing = next((j for j in range(n) if sdiag[j] == 0), n)
    for j in range(nsing, n):
        wa[j] = 0.0
    for j in range(nsing - 1, -1, -1):
        total = 0.0
        for i in range(j + 1, nsing):
            total += W[i][j] * wa[i]
        wa[j] = (wa[j] - total) / sdiag[j]
    x = [0.0] * n
    for j in range(n):
        x[ipvt[j]] = wa[j]
    return x, sdiag, W


def solve_damped(r: FloatArray, ipvt: IntArray, diag: FloatArray, qtb: FloatArray
                 ) -> tuple[FloatArray, FloatArray]:
    """MINPACK ``qrsolv``: least squares of ``[A; D] x = [b; 0]`` given ``A P = Q R``.

    ``r`` (n, n) holds R in its upper triangle, ``qtb`` is ``Q^T b`` (n,).  Returns ``x``
    (n,) and the diagonal of the triangular factor of ``[R; P^T D P]`` (n,).
    """
    x, sdiag, _ = _qrsolv(np.triu(r).tolist(), [int(i) for i in ipvt], diag.tolist(),
                          qtb.tolist())
    return np.array(x), np.array(sdiag)


def _gauss_newton(R: Matrix, ipvt: list[int], qtb: list[float]) -> list[float]:
    """The (rank-truncated) Gauss-Newton step ``x`` with ``R P^T x = Q^T b``."""
    n = len(R)
    nsing = next((j for j in range(n) if R[j][j] == 0), n)
    wa = [qtb[j] if j < nsing else 0.0 for j in range(n)]
    for j in range(nsing - 1, -1, -1):
        wa[j] /= R[j][j]
        temp = wa[j]
        for i in range(j):
            wa[i] -= R[i][j] * temp
    x = [0.0] * n
    for j in range(n):
        x[ipvt[j]] = wa[j]
    return x


def _parameter_bounds(R: Matrix, ipvt: list[int], diag: list[float], qtb: list[float],
                      dx: list[float], dxnorm: float, fp: float, delta: float
                      ) -> tuple[float, float, float]:
    """lmpar's starting bracket ``(parl, paru)`` and the scaled gradient norm."""
    n = len(R)
    parl = 0.0
    if all(R[j][j] != 0 for j in range(n)):
        wa1 = [diag[ipvt[j]] * (dx[ipvt[j]] / dxnorm) for j in range(n)]
        for j in range(n):
            total = 0.0
            for i in range(j):
                total += R[i][j] * wa1[i]
            wa1[j] = (wa1[j] - total) / R[j][j]
        temp = _norm(wa1)
        parl = ((fp / delta) / temp) / temp
    wa1 = []
    for j in range(n):
        total = 0.0
        for i in range(j + 1):
            total += R[i][j] * qtb[i]
        wa1.append(total / diag[ipvt[j]])
    gnorm = _norm(wa1)
    paru = gnorm / delta
    if paru == 0:
        paru = _DWARF / min(delta, 0.1)
    return parl, paru, gnorm


def lm_parameter(R: Matrix, ipvt: list[int], diag: list[float], qtb: list[float],
                 delta: float, par: float) -> tuple[float, list[float]]:
    """MINPACK ``lmpar``: the parameter ``par`` with ``||D x|| ~ delta`` (within 10 %) and
    its step ``x`` (n,), solving ``(J^T J + par D^2) x = J^T f`` (the sign is the caller's).

    ``R`` (n x n, upper triangle used), ``ipvt``, ``diag`` (n) and ``qtb = Q^T f`` (n) are
    lists.
    """
    n = len(R)
    x = _gauss_newton(R, ipvt, qtb)
    dx = [diag[j] * x[j] for j in range(n)]
    dxnorm = _norm(dx)
    fp = dxnorm - delta
    if fp <= 0.1 * delta:
        return 0.0, x
    parl, paru, gnorm = _parameter_bounds(R, ipvt, diag, qtb, dx, dxnorm, fp, delta)
    par = min(max(par, parl), paru)
    if par == 0:
        par = gnorm / dxnorm
    for iteration in range(1, 11):
        if par == 0:
            par = max(_DWARF, 0.001 * paru)
        root = sqrt(par)
        x, sdiag, S = _qrsolv(R, ipvt, [root * d for d in diag], qtb)
        dx = [diag[j] * x[j] for j in range(n)]
        dxnorm = _norm(dx)
        previous, fp = fp, dxnorm - delta
        if abs(fp) <= 0.1 * delta or (parl == 0 and fp <= previous < 0) or iteration == 10:
            break
        wa1 = [diag[ipvt[j]] * (dx[ipvt[j]] / dxnorm) for j in range(n)]
        for j in range(n):
            wa1[j] /= sdiag[j]
            temp = wa1[j]
            for i in range(j + 1, n):
                wa1[i] -= S[i][j] * temp
        temp = _norm(wa1)
        parc = ((fp / delta) / temp) / temp
        if fp > 0:
            parl = max(parl, par)
        if fp < 0:
            paru = min(paru, par)
        par = max(parl, par + parc)
    return par, x
