"""Strong-Wolfe line searches for BFGS and CG, with scipy's fallback rule.

`wolfe_line_search` first runs the Moré–Thuente search (`_more_thuente.more_thuente`, scipy's
``line_search_wolfe1``) and, if that fails or the step is refused by ``extra_condition``, the
bracketing-and-zoom search of Nocedal & Wright (Algorithms 3.5 and 3.6, scipy's
``line_search_wolfe2``).  When both fail it raises `LineSearchFailed`, which BFGS and CG report
as status 2 ("precision loss").

Every evaluation goes through the run's `ScalarObjective`, which memoises the last point, so the
counts (``nfev``, ``njev``) come out as scipy's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .._core.objective import ScalarObjective
from .more_thuente import more_thuente

__all__ = ["LineSearchFailed", "LineSearchResult", "wolfe_line_search", "check_wolfe_constants"]

FloatArray = npt.NDArray[np.float64]
ExtraCondition = Callable[[float, FloatArray, float, FloatArray], bool]
#: ``(step, f at the new point, f at the start, gradient at the new point or None)``
LineSearchResult = tuple[float, float, float, "FloatArray | None"]

_MT_XTOL = 1e-14        # scipy's xtol for the Moré–Thuente search
_MT_MAXITER = 100       # evaluations allowed to the Moré–Thuente search (scipy: 100 loop
                        # passes, whose 100th evaluation goes untested)
_EXPAND_MAXITER = 10    # expansions of the bracketing phase of the zoom search
_ZOOM_MAXITER = 10      # interpolations in the zoom phase
_CUBIC_MARGIN = 0.2     # a cubic trial step this close (relative) to an end is refused
_QUAD_MARGIN = 0.1      # same for the quadratic trial step


class LineSearchFailed(RuntimeError):
    """No step satisfying the strong Wolfe conditions (and ``extra_condition``) was found."""


def check_wolfe_constants(c1: float, c2: float) -> None:
    """Raise `ValueError` unless ``0 < c1 < c2 < 1``."""
    if not 0 < c1 < c2 < 1:
        raise ValueError("'c1' and 'c2' do not satisfy '0 < c1 < c2 < 1'.")


def initial_step(phi0: float, old_phi0: float | None, derphi0: float) -> float:
    """scipy's first trial step: the step at which a quadratic would reproduce the last decrease.

    ``min(1, 2.02 * (phi0 - old_phi0) / derphi0)``, or 1 when that is negative or unknown.
    """
    if old_phi0 is None or derphi0 == 0:
        return 1.0
    alpha = min(1.0, 1.01 * 2 * (phi0 - old_phi0) / derphi0)
    return 1.0 if alpha < 0 else alpha


def wolfe_line_search(obj: ScalarObjective, xk: FloatArray, pk: FloatArray, gfk: FloatArray,
                      old_fval: float, old_old_fval: float | None, *, c1: float = 1e-4,
                      c2: float = 0.9, amin: float = 1e-100, amax: float = 1e100,
                      extra_condition: ExtraCondition | None = None,
                      zoom_amax: float | None = None) -> LineSearchResult:
    """Find a step along ``pk`` from ``xk`` satisfying the strong Wolfe conditions.

    Parameters
    ----------
    obj : ScalarObjective
        The run's objective (evaluations are counted there).
    xk, pk, gfk : ndarray, shape (n,)
        Current point, search direction and gradient at ``xk``.
    old_fval, old_old_fval : float
        ``f(xk)`` and the value at the previous iterate (sets the first trial step).
    c1, c2 : float
        Sufficient-decrease and curvature constants, ``0 < c1 < c2 < 1``.
    amin, amax : float
        Step bounds (``amin`` applies to the Moré–Thuente search only, as in scipy).
    extra_condition : callable, optional
        ``extra_condition(alpha, x, f, g) -> bool``: a Wolfe step is accepted only if this
        returns True (CG's sufficient-descent check).
    zoom_amax : float, optional
        Largest step of the zoom search when it differs from ``amax`` (``inf`` for scipy's
        ``amax=None``, as Newton-CG uses it); None: ``amax``.

    Returns
    -------
    alpha, new_fval, old_fval, new_grad
        The step, ``f(xk + alpha*pk)``, ``f(xk)`` and the gradient at the new point (None when
        the zoom search stopped after its expansions without checking the curvature).

    Raises
    ------
    LineSearchFailed
        When neither search finds an acceptable step.
    """
    check_wolfe_constants(c1, c2)
    derphi0 = float(np.dot(gfk, pk))
    alpha1 = initial_step(old_fval, old_old_fval, derphi0)
    found = _more_thuente_search(obj, xk, pk, old_fval, derphi0, alpha1, c1, c2, amin, amax)
    if found is not None:
        alpha, fval, grad = found
        if extra_condition is None or extra_condition(alpha, xk + alpha * pk, fval, grad):
            return alpha, fval, old_fval, grad
    search = _ZoomSearch(obj, xk, pk, old_fval, derphi0, c1, c2, extra_condition)
    zoom_amax = amax if zoom_amax is None else zoom_amax
    alpha2, fval2, grad2 = search.run(min(alpha1, zoom_amax), zoom_amax)
    if alpha2 is None:
        raise LineSearchFailed()
    return alpha2, fval2, old_fval, grad2  # type: ignore[return-value]


def _more_thuente_search(obj: ScalarObjective, xk: FloatArray, pk: FloatArray, phi0: float,
                         derphi0: float, alpha1: float, c1: float, c2: float, amin: float,
                         amax: float) -> tuple[float, float, FloatArray] | None:
    """Run `more_thuente` along ``pk``; ``(alpha, f, grad)`` on convergence, else None."""
    last_grad: list[FloatArray] = []

    def phi(alpha: float) -> tuple[float, float]:
        f, g = obj.fun_and_grad(xk + alpha * pk)
        last_grad.append(g)
        return f, float(np.dot(g, pk))

    alpha, fval, _, status = more_thuente(phi, phi0, derphi0, alpha1, ftol=c1, gtol=c2,
                                          xtol=_MT_XTOL, stpmin=amin, stpmax=amax,
                                          maxiter=_MT_MAXITER)
    if status != "converged":
        return None
    return alpha, fval, last_grad[-1]


def _cubic_minimiser(a: float, fa: float, fpa: float, b: float, fb: float, c: float,
                     fc: float) -> float | None:
    """Minimiser of the cubic through ``(a, fa)``, ``(b, fb)``, ``(c, fc)`` with slope ``fpa``
    at ``a``; None when it does not exist or the arithmetic overflows."""
    db, dc = b - a, c - a
    denom = (db * dc) ** 2 * (db - dc)
    u, v = fb - fa - fpa * db, fc - fa - fpa * dc
    cubic = dc**2 * u + (-db**2) * v
    quad = (-dc**3) * u + db**3 * v
    if denom == 0 or not math.isfinite(denom) or not math.isfinite(cubic + quad):
        return None
    cubic /= denom
    quad /= denom
    radical = quad * quad - 3 * cubic * fpa
    if not radical >= 0 or cubic == 0 or not math.isfinite(radical):
        return None
    xmin = a + (-quad + math.sqrt(radical)) / (3 * cubic)
    return xmin if math.isfinite(xmin) else None


def _quadratic_minimiser(a: float, fa: float, fpa: float, b: float, fb: float) -> float | None:
    """Minimiser of the quadratic through ``(a, fa)``, ``(b, fb)`` with slope ``fpa`` at ``a``."""
    db = b - a
    if db == 0:
        return None
    curvature = (fb - fa - fpa * db) / (db * db)
    if curvature == 0 or not math.isfinite(curvature):
        return None
    xmin = a - fpa / (2.0 * curvature)
    return xmin if math.isfinite(xmin) else None


class _ZoomSearch:
    """Nocedal & Wright's bracketing phase (Algorithm 3.5) and zoom phase (Algorithm 3.6)."""

    def __init__(self, obj: ScalarObjective, xk: FloatArray, pk: FloatArray, phi0: float,
                 derphi0: float, c1: float, c2: float,
                 extra_condition: ExtraCondition | None) -> None:
        self.obj, self.xk, self.pk = obj, xk, pk
        self.phi0, self.derphi0, self.c1, self.c2 = phi0, derphi0, c1, c2
        self.extra = extra_condition
        self.grad: FloatArray | None = None
        self.grad_alpha: float | None = None

    def phi(self, alpha: float) -> float:
        return self.obj.fun(self.xk + alpha * self.pk)

    def derphi(self, alpha: float) -> float:
        self.grad = self.obj.grad(self.xk + alpha * self.pk)
        self.grad_alpha = alpha
        return float(np.dot(self.grad, self.pk))

    def accept(self, alpha: float, phi_alpha: float) -> bool:
        if self.extra is None:
            return True
        if self.grad_alpha != alpha:
            self.derphi(alpha)
        return self.extra(alpha, self.xk + alpha * self.pk, phi_alpha, self.grad)  # type: ignore

    def sufficient(self, alpha: float, phi_alpha: float) -> bool:
        return phi_alpha <= self.phi0 + self.c1 * alpha * self.derphi0

    def run(self, alpha1: float, amax: float) -> tuple[Any, Any, FloatArray | None]:
        """Expand the step until a bracket is found, then zoom.

        Returns ``(alpha, f, grad)``; ``alpha`` is None on failure and ``grad`` None when the
        expansions ran out (the last step is then returned unchecked, as scipy does).
        """
        alpha0, phi_a0, derphi_a0 = 0.0, self.phi0, self.derphi0
        phi_a1 = self.phi(alpha1)
        for i in range(_EXPAND_MAXITER):
            if alpha1 == 0 or alpha0 > amax:
                return None, None, None
            if not self.sufficient(alpha1, phi_a1) or (i > 0 and phi_a1 >= phi_a0):
                return self.zoom(alpha0, alpha1, phi_a0, phi_a1, derphi_a0)
            derphi_a1 = self.derphi(alpha1)
            if abs(derphi_a1) <= -self.c2 * self.derphi0 and self.accept(alpha1, phi_a1):
                return alpha1, phi_a1, self.grad
            if derphi_a1 >= 0:
                return self.zoom(alpha1, alpha0, phi_a1, phi_a0, derphi_a1)
            alpha0, alpha1 = alpha1, min(2 * alpha1, amax)
            phi_a0, phi_a1 = phi_a1, self.phi(alpha1)
            derphi_a0 = derphi_a1
        return alpha1, phi_a1, None

    def _trial(self, i: int, a_lo: float, a_hi: float, phi_lo: float, phi_hi: float,
               derphi_lo: float, a_rec: float, phi_rec: float) -> float:
        """Cubic, else quadratic, else bisection step inside ``(a_lo, a_hi)``."""
        dalpha = a_hi - a_lo
        a, b = (a_hi, a_lo) if dalpha < 0 else (a_lo, a_hi)
        if i > 0:
            margin = _CUBIC_MARGIN * dalpha
            a_j = _cubic_minimiser(a_lo, phi_lo, derphi_lo, a_hi, phi_hi, a_rec, phi_rec)
            if a_j is not None and a + margin <= a_j <= b - margin:
                return a_j
        margin = _QUAD_MARGIN * dalpha
        a_j = _quadratic_minimiser(a_lo, phi_lo, derphi_lo, a_hi, phi_hi)
        if a_j is None or a_j > b - margin or a_j < a + margin:
            a_j = a_lo + 0.5 * dalpha
        return a_j

    def zoom(self, a_lo: float, a_hi: float, phi_lo: float, phi_hi: float, derphi_lo: float,
             ) -> tuple[Any, Any, FloatArray | None]:
        """Shrink ``[a_lo, a_hi]`` (``a_lo`` the end with the lower value) to a Wolfe step."""
        phi_rec, a_rec = self.phi0, 0.0
        for i in range(_ZOOM_MAXITER + 1):
            a_j = self._trial(i, a_lo, a_hi, phi_lo, phi_hi, derphi_lo, a_rec, phi_rec)
            phi_aj = self.phi(a_j)
            if not self.sufficient(a_j, phi_aj) or phi_aj >= phi_lo:
                phi_rec, a_rec = phi_hi, a_hi
                a_hi, phi_hi = a_j, phi_aj
                continue
            derphi_aj = self.derphi(a_j)
            if abs(derphi_aj) <= -self.c2 * self.derphi0 and self.accept(a_j, phi_aj):
                return a_j, phi_aj, self.grad
            if derphi_aj * (a_hi - a_lo) >= 0:
                phi_rec, a_rec = phi_hi, a_hi
                a_hi, phi_hi = a_lo, phi_lo
            else:
                phi_rec, a_rec = phi_lo, a_lo
            a_lo, phi_lo, derphi_lo = a_j, phi_aj, derphi_aj
        return None, None, None
