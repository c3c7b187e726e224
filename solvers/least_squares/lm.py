"""Levenberg-Marquardt (``method='lm'``): MINPACK's ``lmder`` written in numpy.

The outer loop of More's 1977 algorithm as MINPACK codes it: per Jacobian a Householder QR
with column pivoting, ``Q^T f`` and the scaled gradient test; per trial the
Levenberg-Marquardt parameter and step (`lm_kernels.lm_parameter`), the ratio of actual to
predicted reduction, the radius and parameter updates, and MINPACK's convergence tests and
``info`` codes (mapped to scipy's status by the caller).
``nfev`` counts residual evaluations only (finite-difference ones not), as scipy reports it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from math import sqrt

import numpy as np
import numpy.typing as npt

from .lm_kernels import lm_parameter, qr_pivoted
from .residuals import Residuals

__all__ = ["LMOutcome", "lm"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int_]
Matrix = list[list[float]]
_EPSMCH = float(np.finfo(float).eps)


def _norm(v: FloatArray) -> float:
    return sqrt(v.dot(v))


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


def _scaled_gradient_norm(R: Matrix, ipvt: list[int], qtf: list[float], acnorm: list[float],
                          fnorm: float) -> float:
    """MINPACK's ``gnorm``: the largest cosine between the residuals and a Jacobian column
    (``R`` the n x n triangular factor as rows)."""
    gnorm = 0.0
    if fnorm == 0:
        return gnorm
    for j in range(len(R)):
        column_norm = acnorm[ipvt[j]]
        if column_norm != 0:
            total = 0.0
            for i in range(j + 1):
                total += R[i][j] * (qtf[i] / fnorm)
            gnorm = max(gnorm, abs(total / column_norm))
    return gnorm


def _scaled_norm(d: list[float], v: list[float]) -> float:
    return sqrt(sum((di * vi) ** 2 for di, vi in zip(d, v)))


def _predicted_reduction(R: Matrix, ipvt: list[int], step: list[float], par: float,
                         pnorm: float, fnorm: float) -> tuple[float, float]:
    """MINPACK's scaled predicted reduction and directional derivative of a step."""
    n = len(R)
    wa3 = [0.0] * n
    for j in range(n):
        temp = step[ipvt[j]]
        for i in range(j + 1):
            wa3[i] += R[i][j] * temp
    temp1 = sqrt(sum(w * w for w in wa3)) / fnorm
    temp2 = sqrt(par) * pnorm / fnorm
    return temp1**2 + temp2**2 / 0.5, -(temp1**2 + temp2**2)


def _update_radius(ratio: float, actred: float, dirder: float, fnorm1: float, fnorm: float,
                   delta: float, pnorm: float, par: float) -> tuple[float, float]:
    """MINPACK's new ``(delta, par)`` after a trial with reduction ratio ``ratio``."""
    if ratio <= 0.25:
        temp = 0.5 if actred >= 0 else 0.5 * dirder / (dirder + 0.5 * actred)
        if 0.1 * fnorm1 >= fnorm or temp < 0.1:
            temp = 0.1
        return temp * min(delta, pnorm / 0.1), par / temp
    if par == 0 or ratio >= 0.75:
        return pnorm / 0.5, 0.5 * par
    return delta, par


def _factor(J: FloatArray, fvec: FloatArray) -> tuple[Matrix, list[int], list[float],
                                                       list[float]]:
    """R (rows), the pivots, ``Q^T f`` and the column norms of ``J`` (lists)."""
    qr, ipvt, rdiag, acnorm = qr_pivoted(J)
    qtf = _qtf(qr, rdiag, fvec).tolist()
    n = qr.shape[1]
    R = [[value if j >= i else 0.0 for j, value in enumerate(row)]
         for i, row in enumerate(qr[:n, :n].tolist())]
    return R, ipvt.tolist(), qtf, acnorm.tolist()


def lm(residuals: Residuals, x0: FloatArray, f0: FloatArray, J0: FloatArray, *, ftol: float,
       xtol: float, gtol: float, max_nfev: int, diag: FloatArray | None,
       factor: float = 100.0,
       record: Callable[[FloatArray, float, float, int], None] | None = None) -> LMOutcome:
    """MINPACK ``lmder`` from ``x0`` (``f0 = fun(x0)``, ``J0 = jac(x0)``); ``diag`` None
    scales by the Jacobian's column norms (MINPACK mode 1), else fixed scales (mode 2).
    ``record(x, cost, gnorm, nfev)`` is called at each Jacobian (MINPACK's scaled ``gnorm``)."""
    x, fvec, nfev, njev = x0.copy(), f0.copy(), 1, 0
    fnorm = _norm(fvec)
    d = [1.0] * x.size if diag is None else [float(v) for v in diag]
    par, delta, xnorm, first, info = 0.0, 0.0, 0.0, True, 0
    J, J_x = J0, x0
    while info == 0:
        if njev > 0:
            J, J_x = residuals.jacobian(x), x
        njev += 1
        R, ipvt, qtf, acnorm = _factor(J, fvec)
        if first:
            if diag is None:
                d = [c if c != 0 else 1.0 for c in acnorm]
            xnorm = _scaled_norm(d, x.tolist())
            delta = factor * xnorm if xnorm != 0 else factor
        gnorm = _scaled_gradient_norm(R, ipvt, qtf, acnorm, fnorm)
        if record is not None:
            record(x, 0.5 * fnorm**2, gnorm, nfev)
        if gnorm <= gtol:
            info = 4
            break
        if diag is None:
            d = [max(di, c) for di, c in zip(d, acnorm)]
        while True:
            par, step = lm_parameter(R, ipvt, d, qtf, delta, par)
            step = [-s for s in step]
            x_trial = x + np.array(step)
            pnorm = _scaled_norm(d, step)
            if first:
                delta = min(delta, pnorm)
            f_trial = residuals.values(x_trial)
            nfev += 1
            fnorm1 = _norm(f_trial)
            actred = 1 - (fnorm1 / fnorm) ** 2 if 0.1 * fnorm1 < fnorm else -1.0
            prered, dirder = _predicted_reduction(R, ipvt, step, par, pnorm, fnorm)
            ratio = actred / prered if prered != 0 else 0.0
            delta, par = _update_radius(ratio, actred, dirder, fnorm1, fnorm, delta, pnorm,
                                        par)
            if ratio >= 1e-4:
                x, fvec, fnorm = x_trial, f_trial, fnorm1
                xnorm = _scaled_norm(d, x.tolist())
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
