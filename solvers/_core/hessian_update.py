"""Quasi-Newton Hessian update strategies usable as ``minimize(..., hess=BFGS())``.

The protocol is scipy's (`scipy.optimize.HessianUpdateStrategy`): a method calls
``initialize(n, approx_type)`` once, with ``approx_type`` ``'hess'`` (keep an estimate ``B`` of
the Hessian) or ``'inv_hess'`` (keep an estimate ``H`` of its inverse), then
``update(delta_x, delta_grad)`` after each move, and reads the estimate through ``dot(p)`` (also
``M @ p``) or ``get_matrix()``.

On the first update that is not skipped, the identity start is scaled (``init_scale='auto'``:
``y.y / |y.s|`` for the Hessian, ``|y.s| / y.y`` for its inverse, Nocedal & Wright eq. 6.20), or
set from a user scalar or symmetric (n, n) array.  The updates (Nocedal & Wright, 2nd ed.):

* BFGS, Hessian:   ``B+ = B + y y^T / (y.s) - (B s)(B s)^T / (s.B s)``            (eq. 6.19)
* BFGS, inverse:   ``H+ = H - (s (H y)^T + (H y) s^T) / (y.s) + (y.s + y.H y) s s^T / (y.s)^2``
* SR1:             ``M+ = M + r r^T / (w.r)`` with ``r = z - M w``                  (eq. 6.24)

where ``(w, z) = (s, y)`` for the Hessian and ``(y, s)`` for its inverse.  BFGS skips (or damps)
an update whose curvature ``w.z`` is below ``min_curvature * w.M w``; SR1 skips one whose
denominator is below ``min_denominator * |w| |r|``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["HessianUpdateStrategy", "FullHessianUpdateStrategy", "BFGS", "SR1",
           "is_update_strategy", "is_bfgs_strategy"]

FloatArray = npt.NDArray[np.float64]
_APPROX_TYPES = ("hess", "inv_hess")
_LINEAR_WARNING = (
    "delta_grad == 0.0. Check if the approximated function is linear. If the function is "
    "linear better results can be obtained by defining the Hessian as zero instead of using "
    "quasi-Newton approximations."
)


class HessianUpdateStrategy:
    """Interface of a quasi-Newton Hessian (or inverse-Hessian) approximation.

    Subclasses implement ``initialize``, ``update``, ``dot`` and ``get_matrix``; ``M @ p``
    calls ``dot``.  Any instance can be passed as ``hess=`` to the methods that accept one
    (Newton-CG, trust-ncg, trust-krylov, trust-constr).
    """

    def initialize(self, n: int, approx_type: str) -> None:
        """Allocate the estimate for dimension ``n``; ``approx_type`` is 'hess' or 'inv_hess'."""
        raise NotImplementedError("The method ``initialize(n, approx_type)`` is not implemented.")

    def update(self, delta_x: FloatArray, delta_grad: FloatArray) -> None:
        """Update the estimate with ``delta_x = x2 - x1`` and ``delta_grad = g(x2) - g(x1)``."""
        raise NotImplementedError("The method ``update(delta_x, delta_grad)`` is not implemented.")

    def dot(self, p: FloatArray) -> FloatArray:
        """Return the estimate times ``p``, shape (n,)."""
        raise NotImplementedError("The method ``dot(p)`` is not implemented.")

    def get_matrix(self) -> FloatArray:
        """Return the estimate as a dense (n, n) array (a copy)."""
        raise NotImplementedError("The method ``get_matrix(p)`` is not implemented.")

    def __matmul__(self, p: FloatArray) -> FloatArray:
        return self.dot(p)


_PROTOCOL = ("initialize", "update", "dot", "get_matrix")


def is_update_strategy(hess: Any) -> bool:
    """True for a `HessianUpdateStrategy` or any object with its four methods (e.g. scipy's
    ``BFGS()``/``SR1()`` or a user subclass of scipy's class), which are then driven as is."""
    if isinstance(hess, HessianUpdateStrategy):
        return True
    return all(callable(getattr(hess, name, None)) for name in _PROTOCOL)


def is_bfgs_strategy(hess: Any) -> bool:
    """True for our `BFGS` or an update strategy whose class (or a base) is named ``BFGS``
    (scipy's ``BFGS()``, the default ``hess`` of scipy's `NonlinearConstraint`)."""
    if isinstance(hess, BFGS):
        return True
    return is_update_strategy(hess) and any(
        cls.__name__ == "BFGS" for cls in type(hess).__mro__)


def _auto_scale(delta_x: FloatArray, delta_grad: FloatArray, approx_type: str) -> float:
    """Nocedal & Wright's initial scale: ``y.y/|y.s|`` ('hess') or its inverse; 1 if degenerate."""
    ss = float(np.dot(delta_x, delta_x))
    yy = float(np.dot(delta_grad, delta_grad))
    ys = abs(float(np.dot(delta_grad, delta_x)))
    if ys == 0.0 or yy == 0.0 or ss == 0.0:
        return 1.0
    return yy / ys if approx_type == "hess" else ys / yy


class FullHessianUpdateStrategy(HessianUpdateStrategy):
    """A strategy that stores the full (n, n) estimate ``M`` (shared by `BFGS` and `SR1`)."""

    def __init__(self, init_scale: Any = "auto") -> None:
        self.init_scale = init_scale
        self.first_iteration: bool | None = None
        self.approx_type: str | None = None
        self.n = 0
        self._matrix: FloatArray | None = None

    # scipy exposes the estimate as ``B`` (Hessian) or ``H`` (inverse); keep both names working
    @property
    def B(self) -> FloatArray | None:  # noqa: N802 - scipy's attribute name
        return self._matrix if self.approx_type == "hess" else None

    @property
    def H(self) -> FloatArray | None:  # noqa: N802 - scipy's attribute name
        return self._matrix if self.approx_type == "inv_hess" else None

    def initialize(self, n: int, approx_type: str) -> None:
        """Start from the identity, shape (n, n); ``approx_type`` is 'hess' or 'inv_hess'."""
        if approx_type not in _APPROX_TYPES:
            raise ValueError("`approx_type` must be 'hess' or 'inv_hess'.")
        self.first_iteration = True
        self.n = int(n)
        self.approx_type = approx_type
        self._matrix = np.eye(self.n, dtype=float)

    def _require_initialized(self) -> FloatArray:
        if self._matrix is None:
            raise RuntimeError(
                f"{type(self).__name__} must be initialized with initialize(n, approx_type) "
                "before use.")
        return self._matrix

    def _kind(self) -> str:
        """'hess' or 'inv_hess' (raises `RuntimeError` before `initialize`)."""
        self._require_initialized()
        return str(self.approx_type)

    def _initial_matrix(self, delta_x: FloatArray, delta_grad: FloatArray) -> FloatArray:
        """The start matrix once the first pair is known (scaled identity or a user array)."""
        scale = self.init_scale
        identity = self._require_initialized()
        if isinstance(scale, str) and scale == "auto":
            return _auto_scale(delta_x, delta_grad, self._kind()) * identity
        if np.size(scale) == 1:
            return float(np.asarray(scale, dtype=float).reshape(())) * identity
        if np.iscomplexobj(scale):
            raise TypeError("init_scale contains complex elements, must be real.")
        start = np.array(scale, dtype=float, copy=True)
        shape = (self.n, self.n)
        if start.shape != shape:
            raise ValueError("If init_scale is an array, it must have the dimensions of the "
                             f"hess/inv_hess: {shape}. Got {start.shape}.")
        if not np.array_equal(start, start.T):
            raise ValueError("If init_scale is an array, it must be symmetric (passing "
                             "scipy.linalg.issymmetric) to be an approximation of a hess/inv_hess.")
        return start

    def update(self, delta_x: FloatArray, delta_grad: FloatArray) -> None:
        """Update the estimate from a step ``delta_x`` and gradient change ``delta_grad``, (n,).

        A zero step is ignored; a zero gradient change is ignored with a `UserWarning` (the
        function looks linear).  The first real update sets the initial scale.
        """
        self._require_initialized()
        delta_x = np.asarray(delta_x, dtype=float)
        delta_grad = np.asarray(delta_grad, dtype=float)
        if np.all(delta_x == 0.0):
            return
        if np.all(delta_grad == 0.0):
            warnings.warn(_LINEAR_WARNING, UserWarning, stacklevel=2)
            return
        if self.first_iteration:
            self._matrix = self._initial_matrix(delta_x, delta_grad)
            self.first_iteration = False
        self._update_implementation(delta_x, delta_grad)

    def _update_implementation(self, delta_x: FloatArray, delta_grad: FloatArray) -> None:
        raise NotImplementedError("The method ``_update_implementation`` is not implemented.")

    def _pair(self, delta_x: FloatArray, delta_grad: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(w, z)``: ``(s, y)`` for the Hessian, ``(y, s)`` for its inverse."""
        if self.approx_type == "hess":
            return delta_x, delta_grad
        return delta_grad, delta_x

    def dot(self, p: FloatArray) -> FloatArray:
        """Return the estimate times ``p``, shape (n,)."""
        return self._require_initialized() @ np.asarray(p, dtype=float)

    def get_matrix(self) -> FloatArray:
        """Return a copy of the estimate, shape (n, n)."""
        return self._require_initialized().copy()


class BFGS(FullHessianUpdateStrategy):
    """Broyden-Fletcher-Goldfarb-Shanno update of the Hessian or its inverse.

    Parameters
    ----------
    exception_strategy : {'skip_update', 'damp_update'}
        What to do when the curvature condition fails: skip the update, or damp it by
        interpolating between the BFGS result and the current matrix (Nocedal & Wright,
        pp. 536-537).
    min_curvature : float, optional
        Smallest curvature ``w.z``, relative to ``w.M w``, accepted unchanged; default 1e-8
        for 'skip_update' and 0.2 for 'damp_update'.
    init_scale : {'auto', float, ndarray of shape (n, n)}
        Initial matrix: ``init_scale * I``, a symmetric (n, n) array, or 'auto' (Nocedal &
        Wright eq. 6.20, computed from the first update).
    """

    def __init__(self, exception_strategy: str = "skip_update",
                 min_curvature: float | None = None, init_scale: Any = "auto") -> None:
        defaults = {"skip_update": 1e-8, "damp_update": 0.2}
        if exception_strategy not in defaults:
            raise ValueError("`exception_strategy` must be 'skip_update' or 'damp_update'.")
        self.min_curvature = defaults[exception_strategy] if min_curvature is None \
            else min_curvature
        super().__init__(init_scale)
        self.exception_strategy = exception_strategy

    def _update_implementation(self, delta_x: FloatArray, delta_grad: FloatArray) -> None:
        w, z = self._pair(delta_x, delta_grad)
        m = self._require_initialized()
        wz = float(np.dot(w, z))
        mw = m @ w
        wmw = float(np.dot(mw, w))
        if wmw <= 0.0:  # lost positive definiteness to rounding: restart from a scaled identity
            m = _auto_scale(delta_x, delta_grad, self._kind()) * np.eye(self.n)
            mw = m @ w
            wmw = float(np.dot(mw, w))
        if wz <= self.min_curvature * wmw:
            if self.exception_strategy == "skip_update":
                self._matrix = m
                return
            factor = (1.0 - self.min_curvature) / (1.0 - wz / wmw)
            z = factor * z + (1.0 - factor) * mw
            wz = float(np.dot(w, z))
        if self.approx_type == "hess":
            self._matrix = _bfgs_hessian(m, wz, mw, wmw, z)
        else:
            self._matrix = _bfgs_inverse(m, wz, mw, wmw, z)


def _bfgs_hessian(b: FloatArray, ys: float, bs: FloatArray, sbs: float,
                  y: FloatArray) -> FloatArray:
    """``B + y y^T / ys - (B s)(B s)^T / sBs`` (Nocedal & Wright eq. 6.19)."""
    return b + np.outer(y, y) / ys - np.outer(bs, bs) / sbs


def _bfgs_inverse(h: FloatArray, ys: float, hy: FloatArray, yhy: float,
                  s: FloatArray) -> FloatArray:
    """``H - (s Hy^T + Hy s^T)/ys + (ys + yHy) s s^T / ys^2`` (eq. 6.17, expanded)."""
    cross = np.outer(s, hy)
    return h - (cross + cross.T) / ys + ((ys + yhy) / ys**2) * np.outer(s, s)


class SR1(FullHessianUpdateStrategy):
    """Symmetric rank-one update of the Hessian or its inverse.

    Parameters
    ----------
    min_denominator : float
        An update whose denominator ``|w.r|`` is at most ``min_denominator * |w| |r|`` is
        skipped (``r = z - M w``).
    init_scale : {'auto', float, ndarray of shape (n, n)}
        Initial matrix, as for `BFGS`.
    """

    def __init__(self, min_denominator: float = 1e-8, init_scale: Any = "auto") -> None:
        self.min_denominator = min_denominator
        super().__init__(init_scale)

    def _update_implementation(self, delta_x: FloatArray, delta_grad: FloatArray) -> None:
        w, z = self._pair(delta_x, delta_grad)
        m = self._require_initialized()
        residual = z - m @ w
        denominator = float(np.dot(w, residual))
        if abs(denominator) <= (self.min_denominator * np.linalg.norm(w)
                                * np.linalg.norm(residual)):
            return
        self._matrix = m + np.outer(residual, residual) / denominator
