"""LSMR (Fong and Saunders, 2011) for dense matrices: ``min ||A x - b||**2 + damp**2 ||x||**2``.

Golub-Kahan bidiagonalisation with two rotations per step; the iterate minimises ``||A^T r||``
over the Krylov subspace.  The stopping tests are the published ones (``atol``, ``btol``,
``conlim``, ``maxiter``, defaults as in scipy's ``lsmr``).  Used by ``tr_solver='lsmr'``.
"""

from __future__ import annotations

from math import sqrt

import numpy as np
import numpy.typing as npt

__all__ = ["lsmr"]

FloatArray = npt.NDArray[np.float64]


def _givens(a: float, b: float) -> tuple[float, float, float]:
    """Stable ``(c, s, r)`` with ``[c s; -s c] [a; b] = [r; 0]``."""
    if b == 0:
        return float(np.sign(a)), 0.0, abs(a)
    if a == 0:
        return 0.0, float(np.sign(b)), abs(b)
    if abs(b) > abs(a):
        tau = a / b
        s = float(np.sign(b)) / sqrt(1 + tau * tau)
        return s * tau, s, b / s
    tau = b / a
    c = float(np.sign(a)) / sqrt(1 + tau * tau)
    return c, c * tau, a / c


def _stop(itn: int, maxiter: int, test1: float, test2: float, test3: float, t1: float,
          rtol: float, atol: float, ctol: float) -> int:
    """LSMR's stopping reason (0: go on), the later tests taking precedence."""
    istop = 0
    if itn >= maxiter:
        istop = 7
    if 1 + test3 <= 1:
        istop = 6
    if 1 + test2 <= 1:
        istop = 5
    if 1 + t1 <= 1:
        istop = 4
    if test3 <= ctol:
        istop = 3
    if test2 <= atol:
        istop = 2
    if test1 <= rtol:
        istop = 1
    return istop


def lsmr(A: FloatArray, b: FloatArray, damp: float = 0.0, atol: float = 1e-6,
         btol: float = 1e-6, conlim: float = 1e8, maxiter: int | None = None) -> FloatArray:
    """Approximate least-squares solution ``x`` (n,) of ``A x ~ b`` for ``A`` (m, n)."""
    m, n = A.shape
    maxiter = min(m, n) if maxiter is None else maxiter
    x = np.zeros(n)
    normb = float(np.linalg.norm(b))
    beta = normb
    u = b / beta if beta > 0 else np.asarray(b, dtype=float)
    v = A.T.dot(u) if beta > 0 else np.zeros(n)
    alpha = float(np.linalg.norm(v))
    if alpha > 0:
        v = v / alpha
    if alpha * beta == 0 or normb == 0:
        return x
    zetabar, alphabar, rho, rhobar, cbar, sbar = alpha * beta, alpha, 1.0, 1.0, 1.0, 0.0
    h, hbar = v.copy(), np.zeros(n)
    betadd, betad, rhodold, tautildeold, thetatilde, zeta, d = beta, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0
    normA2 = alpha * alpha
    maxrbar, minrbar = 0.0, 1e100
    ctol = 1 / conlim if conlim > 0 else 0.0
    itn = 0
    while itn < maxiter:
        itn += 1
        u = A.dot(v) - alpha * u
        beta = float(np.linalg.norm(u))
        if beta > 0:
            u = u / beta
            v = A.T.dot(u) - beta * v
            alpha = float(np.linalg.norm(v))
            if alpha > 0:
                v = v / alpha
        chat, shat, alphahat = _givens(alphabar, damp)
        rhoold = rho
        c, s, rho = _givens(alphahat, beta)
        thetanew, alphabar = s * alpha, c * alpha
        rhobarold, zetaold = rhobar, zeta
        thetabar, rhotemp = sbar * rho, cbar * rho
        cbar, sbar, rhobar = _givens(cbar * rho, thetanew)
        zeta, zetabar = cbar * zetabar, -sbar * zetabar
        hbar = h - (thetabar * rho / (rhoold * rhobarold)) * hbar
        x = x + (zeta / (rho * rhobar)) * hbar
        h = v - (thetanew / rho) * h
        # estimate of ||r||
        betaacute, betacheck = chat * betadd, -shat * betadd
        betahat, betadd = c * betaacute, -s * betaacute
        thetatildeold = thetatilde
        ctildeold, stildeold, rhotildeold = _givens(rhodold, thetabar)
        thetatilde, rhodold = stildeold * rhobar, ctildeold * rhobar
        betad = -stildeold * betad + ctildeold * betahat
        tautildeold = (zetaold - thetatildeold * tautildeold) / rhotildeold
        taud = (zeta - thetatilde * tautildeold) / rhodold
        d += betacheck * betacheck
        normr = sqrt(d + (betad - taud) ** 2 + betadd * betadd)
        # estimates of ||A|| and cond(A)
        normA2 += beta * beta
        normA = sqrt(normA2)
        normA2 += alpha * alpha
        maxrbar = max(maxrbar, rhobarold)
        if itn > 1:
            minrbar = min(minrbar, rhobarold)
        condA = max(maxrbar, rhotemp) / min(minrbar, rhotemp)
        normar, normx = abs(zetabar), float(np.linalg.norm(x))
        test1 = normr / normb
        test2 = normar / (normA * normr) if normA * normr != 0 else np.inf
        t1 = test1 / (1 + normA * normx / normb)
        rtol = btol + atol * normA * normx / normb
        if _stop(itn, maxiter, test1, test2, 1 / condA, t1, rtol, atol, ctol):
            break
    return x
