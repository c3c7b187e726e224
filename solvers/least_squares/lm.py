"""Levenberg-Marquardt (``method='lm'``): MINPACK's ``lmder`` written in numpy.

The steps of More's 1977 algorithm as MINPACK codes them: a Householder QR with column
pivoting of the Jacobian (`qr_pivoted`), the Levenberg-Marquardt parameter found by a
safeguarded Newton iteration on ``||D p|| = delta`` (`lm_parameter`), each trial solved by
Givens rotations of ``[R; sqrt(par) D]`` (`solve_damped`), the radius and parameter updates,
and MINPACK's convergence tests and ``info`` codes (mapped to scipy's status by the caller).
``nfev`` counts residual evaluations only (finite-difference ones not), as scipy reports it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .residuals import Residuals

__all__ = ["LMOutcome", "lm", "qr_pivoted", "solve_damped", "lm_parameter"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]
_EPSMCH = float(np.finfo(float).eps)
_DWARF = float(np.finfo(float).tiny)


def qr_pivoted(a: FloatArray) -> tuple[FloatArray, IntArray, FloatArray, FloatArray]:
    """MINPACK ``qrfac`` with pivoting on a copy of ``a`` (m, n), m >= n.

    Returns ``(qr, ipvt, rdiag, acnorm)``: the strict upper triangle of ``qr`` holds R's
    off-diagonal entries and its lower part the Householder vectors, ``a[:, ipvt] = Q R``,
    ``rdiag`` R's diagonal and ``acnorm`` the column norms of ``a``.
    """
    a = np.array(a, dtype=float, order="F")
    m, n = a.shape
    acnorm = np.linalg.norm(a, axis=0)
    rdiag, wa, ipvt = acnorm.copy(), acnorm.copy(), np.arange(n)
    for j in range(min(m, n)):
        kmax = j + int(np.argmax(rdiag[j:]))
        if kmax != j:
            a[:, [j, kmax]] = a[:, [kmax, j]]
            rdiag[kmax], wa[kmax] = rdiag[j], wa[j]
            ipvt[[j, kmax]] = ipvt[[kmax, j]]
        ajnorm = float(np.linalg.norm(a[j:, j]))
        if ajnorm != 0:
            if a[j, j] < 0:
                ajnorm = -ajnorm
            a[j:, j] /= ajnorm
            a[j, j] += 1
            if j + 1 < n:
                sums = a[j:, j].dot(a[j:, j + 1:])
                a[j:, j + 1:] -= np.outer(a[j:, j], sums / a[j, j])
                _downdate_norms(a, j, rdiag, wa)
        rdiag[j] = -ajnorm
    return a, ipvt, rdiag, acnorm


def _downdate_norms(a: FloatArray, j: int, rdiag: FloatArray, wa: FloatArray) -> None:
    """Update the remaining column norms after step ``j`` (recomputed when cancellation
    would make the update inaccurate), in place."""
    for k in range(j + 1, a.shape[1]):
        if rdiag[k] == 0:
            continue
        temp = a[j, k] / rdiag[k]
        rdiag[k] *= np.sqrt(max(0.0, 1 - temp * temp))
        if 0.05 * (rdiag[k] / wa[k]) ** 2 <= _EPSMCH:
            rdiag[k] = np.linalg.norm(a[j + 1:, k])
            wa[k] = rdiag[k]


def _givens(a: float, b: float) -> tuple[float, float]:
    """MINPACK's rotation ``(cos, sin)`` eliminating ``b`` against ``a``."""
    if abs(a) < abs(b):
        cotan = a / b
        sin = 0.5 / np.sqrt(0.25 + 0.25 * cotan * cotan)
        return sin * cotan, sin
    tan = b / a
    cos = 0.5 / np.sqrt(0.25 + 0.25 * tan * tan)
    return cos, cos * tan


def solve_damped(r: FloatArray, ipvt: IntArray, diag: FloatArray, qtb: FloatArray
                 ) -> tuple[FloatArray, FloatArray]:
    """MINPACK ``qrsolv``: least squares of ``[A; D] x = [b; 0]`` given ``A P = Q R``.

    ``r`` (n, n or more rows) holds R in its upper triangle; its strict lower triangle is
    overwritten with the transposed triangular factor S of ``[R; P^T D P]``.  Returns ``x``
    (n,) and S's diagonal (n,).
    """
    n = r.shape[1]
    x_diag = np.diag(r[:n, :n]).copy()
    lower = np.tril_indices(n, -1)
    r[lower[0], lower[1]] = r[lower[1], lower[0]]
    wa = qtb[:n].copy()
    sdiag = np.zeros(n)
    for j in range(n):
        if diag[ipvt[j]] != 0:
            sdiag[j:] = 0.0
            sdiag[j] = diag[ipvt[j]]
            qtbpj = 0.0
            for k in range(j, n):
                if sdiag[k] == 0:
                    continue
                cos, sin = _givens(r[k, k], sdiag[k])
                r[k, k] = cos * r[k, k] + sin * sdiag[k]
                wa[k], qtbpj = cos * wa[k] + sin * qtbpj, -sin * wa[k] + cos * qtbpj
                col, rest = r[k + 1:n, k].copy(), sdiag[k + 1:n].copy()
                r[k + 1:n, k] = cos * col + sin * rest
                sdiag[k + 1:n] = -sin * col + cos * rest
        sdiag[j] = r[j, j]
        r[j, j] = x_diag[j]
    singular = np.flatnonzero(sdiag == 0)
    nsing = int(singular[0]) if singular.size else n
    wa[nsing:] = 0.0
    for j in range(nsing - 1, -1, -1):
        wa[j] = (wa[j] - r[j + 1:nsing, j].dot(wa[j + 1:nsing])) / sdiag[j]
    x = np.empty(n)
    x[ipvt] = wa
    return x, sdiag


def _gauss_newton(r: FloatArray, ipvt: IntArray, qtb: FloatArray) -> FloatArray:
    """The (rank-truncated) Gauss-Newton step ``x`` with ``R P^T x = Q^T b``."""
    n = r.shape[1]
    diagonal = np.diag(r[:n, :n])
    zero = np.flatnonzero(diagonal == 0)
    nsing = int(zero[0]) if zero.size else n
    wa = qtb[:n].copy()
    wa[nsing:] = 0.0
    for j in range(nsing - 1, -1, -1):
        wa[j] /= r[j, j]
        wa[:j] -= r[:j, j] * wa[j]
    x = np.empty(n)
    x[ipvt] = wa
    return x


def lm_parameter(r: FloatArray, ipvt: IntArray, diag: FloatArray, qtb: FloatArray,
                 delta: float, par: float) -> tuple[float, FloatArray]:
    """MINPACK ``lmpar``: the parameter ``par`` with ``||D x|| ~ delta`` (within 10 %) and
    its step ``x`` (n,), solving ``(J^T J + par D^2) x = J^T f`` (the sign is the caller's)."""
    n = r.shape[1]
    x = _gauss_newton(r, ipvt, qtb)
    dx = diag * x
    dxnorm = float(np.linalg.norm(dx))
    fp = dxnorm - delta
    if fp <= 0.1 * delta:
        return 0.0, x
    full_rank = bool(np.all(np.diag(r[:n, :n]) != 0))
    parl = 0.0
    if full_rank:
        wa1 = diag[ipvt] * (dx[ipvt] / dxnorm)
        for j in range(n):
            wa1[j] = (wa1[j] - r[:j, j].dot(wa1[:j])) / r[j, j]
        temp = float(np.linalg.norm(wa1))
        parl = ((fp / delta) / temp) / temp
    rq = np.triu(r[:n, :n]).T.dot(qtb[:n])
    gnorm = float(np.linalg.norm(rq / diag[ipvt]))
    paru = gnorm / delta
    if paru == 0:
        paru = _DWARF / min(delta, 0.1)
    par = min(max(par, parl), paru)
    if par == 0:
        par = gnorm / dxnorm
    for iteration in range(1, 11):
        if par == 0:
            par = max(_DWARF, 0.001 * paru)
        x, sdiag = solve_damped(r, ipvt, np.sqrt(par) * diag, qtb)
        dx = diag * x
        dxnorm = float(np.linalg.norm(dx))
        previous, fp = fp, dxnorm - delta
        if abs(fp) <= 0.1 * delta or (parl == 0 and fp <= previous < 0) or iteration == 10:
            break
        wa1 = diag[ipvt] * (dx[ipvt] / dxnorm)
        for j in range(n):
            wa1[j] /= sdiag[j]
            wa1[j + 1:] -= r[j + 1:n, j] * wa1[j]
        temp = float(np.linalg.norm(wa1))
        parc = ((fp / delta) / temp) / temp
        if fp > 0:
            parl = max(parl, par)
        if fp < 0:
            paru = min(paru, par)
        par = max(parl, par + parc)
    return par, x


@dataclass(frozen=True)
class LMOutcome:
    """The end of an ``lmder`` run: point, residuals, MINPACK ``info`` and counts."""

    x: FloatArray
    fun: FloatArray
    info: int
    nfev: int
    njev: int
    jac: FloatArray
    jac_x: FloatArray


def _qtf(qr: FloatArray, rdiag: FloatArray, fvec: FloatArray) -> FloatArray:
    """``Q^T f`` (first n entries) from the Householder vectors; puts R's diagonal into
    ``qr``, in place."""
    n = qr.shape[1]
    wa = fvec.copy()
    for j in range(n):
        if qr[j, j] != 0:
            temp = -qr[j:, j].dot(wa[j:]) / qr[j, j]
            wa[j:] += qr[j:, j] * temp
        qr[j, j] = rdiag[j]
    return wa[:n]


def _scaled_gradient_norm(qr: FloatArray, ipvt: IntArray, qtf: FloatArray,
                          acnorm: FloatArray, fnorm: float) -> float:
    """MINPACK's ``gnorm``: the largest cosine between the residuals and a Jacobian column."""
    if fnorm == 0:
        return 0.0
    gnorm = 0.0
    for j in range(qr.shape[1]):
        col = acnorm[ipvt[j]]
        if col != 0:
            total = qr[:j + 1, j].dot(qtf[:j + 1] / fnorm)
            gnorm = max(gnorm, abs(total / col))
    return gnorm


def lm(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray, *, ftol: float, xtol: float,
       gtol: float, max_nfev: int, diag: FloatArray | None, factor: float = 100.0
       ) -> LMOutcome:
    """MINPACK ``lmder`` from ``x0`` (``f0 = fun(x0)``, ``J0 = jac(x0)``); ``diag`` None
    scales by the Jacobian's column norms (MINPACK mode 1), else fixed scales (mode 2)."""
    x, fvec, nfev, njev = x0.copy(), f0.copy(), 1, 0
    n = x.size
    fnorm = float(np.linalg.norm(fvec))
    scaled = diag is None
    d = np.ones_like(x) if diag is None else np.asarray(diag, dtype=float).copy()
    par, delta, xnorm, first, info = 0.0, 0.0, 0.0, True, 0
    J, J_x = J0, x0
    while info == 0:
        if njev > 0:
            J, J_x = residuals.jacobian(x), x
        njev += 1
        qr, ipvt, rdiag, acnorm = qr_pivoted(J)
        if first:
            if scaled:
                d = np.where(acnorm == 0, 1.0, acnorm)
            xnorm = float(np.linalg.norm(d * x))
            delta = factor * xnorm if xnorm != 0 else factor
        qtf = _qtf(qr, rdiag, fvec)
        gnorm = _scaled_gradient_norm(qr, ipvt, qtf, acnorm, fnorm)
        if gnorm <= gtol:
            info = 4
            break
        if scaled:
            d = np.maximum(d, acnorm)
        while True:
            par, step = lm_parameter(qr, ipvt, d, qtf, delta, par)
            step = -step
            x_trial = x + step
            pnorm = float(np.linalg.norm(d * step))
            if first:
                delta = min(delta, pnorm)
            f_trial = residuals.values(x_trial)
            nfev += 1
            fnorm1 = float(np.linalg.norm(f_trial))
            actred = 1 - (fnorm1 / fnorm) ** 2 if 0.1 * fnorm1 < fnorm else -1.0
            wa3 = np.triu(qr[:n, :n]).dot(step[ipvt])
            temp1 = float(np.linalg.norm(wa3)) / fnorm
            temp2 = np.sqrt(par) * pnorm / fnorm
            prered = temp1**2 + temp2**2 / 0.5
            dirder = -(temp1**2 + temp2**2)
            ratio = actred / prered if prered != 0 else 0.0
            if ratio <= 0.25:
                temp = 0.5 if actred >= 0 else 0.5 * dirder / (dirder + 0.5 * actred)
                if 0.1 * fnorm1 >= fnorm or temp < 0.1:
                    temp = 0.1
                delta = temp * min(delta, pnorm / 0.1)
                par /= temp
            elif par == 0 or ratio >= 0.75:
                delta = pnorm / 0.5
                par *= 0.5
            if ratio >= 1e-4:
                x, fvec, fnorm = x_trial, f_trial, fnorm1
                xnorm = float(np.linalg.norm(d * x))
                first = False
            info = _lmder_info(actred, prered, ratio, delta, xnorm, gnorm, nfev,
                               ftol=ftol, xtol=xtol, max_nfev=max_nfev)
            if info != 0 or ratio >= 1e-4:
                break
    return LMOutcome(x=x, fun=fvec, info=info, nfev=nfev, njev=njev, jac=J, jac_x=J_x)


def _lmder_info(actred: float, prered: float, ratio: float, delta: float, xnorm: float,
                gnorm: float, nfev: int, *, ftol: float, xtol: float, max_nfev: int) -> int:
    """MINPACK's ``info`` after a trial step (0: go on)."""
    f_test = abs(actred) <= ftol and prered <= ftol and 0.5 * ratio <= 1
    x_test = delta <= xtol * xnorm
    if f_test and x_test:
        return 3
    if f_test:
        return 1
    if x_test:
        return 2
    # MINPACK sets these in this order, a later one overriding an earlier one
    if gnorm <= _EPSMCH:
        return 8
    if delta <= _EPSMCH * xnorm:
        return 7
    if abs(actred) <= _EPSMCH and prered <= _EPSMCH and 0.5 * ratio <= 1:
        return 6
    if nfev >= max_nfev:
        return 5
    return 0
