"""``inv``, ``solve``, ``qr`` and a Cholesky test for small float64 matrices (L-BFGS-B, SLSQP).

`numpy.linalg`'s public functions spend a few microseconds per call checking and converting
their arguments; L-BFGS-B calls them on (2m, 2m) matrices (``m <= maxcor``) a few times per
iteration, where that overhead is most of the cost.  These functions call the same LAPACK
gufuncs that `numpy.linalg.inv`, `numpy.linalg.solve`, `numpy.linalg.qr` and
`numpy.linalg.cholesky` call, under the same floating-point error state, so the results (and the
`numpy.linalg.LinAlgError` on a singular or indefinite matrix) are identical, bit for bit; SLSQP
relies on that.  Inputs must be float64 arrays of the right shapes (any memory layout): (k, k)
and (k,) (`solve_many`: (k, p) right-hand sides; `qr`: any (m, n)).
`solve`, `solve_many` and `qr` set the error state through numpy's context variable (what
`numpy.errstate` does, without a context manager per call).  Without numpy's internal modules
the public functions are used.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import numpy.typing as npt

try:
    from numpy.linalg import _umath_linalg as _gufuncs
except ImportError:  # pragma: no cover - numpy without the internal module
    _gufuncs = None
try:
    from numpy._core._ufunc_config import _extobj_contextvar, _make_extobj
except ImportError:  # pragma: no cover - numpy without the internal error-state helpers
    _extobj_contextvar = _make_extobj = None

__all__ = ["inv", "solve", "solve_many", "qr", "is_positive_definite", "reduce_sum"]

FloatArray = npt.NDArray[np.float64]
LinAlgError = np.linalg.LinAlgError


def _singular(err: Any, flag: Any) -> None:
    raise LinAlgError("Singular matrix")


def _not_positive_definite(err: Any, flag: Any) -> None:
    raise LinAlgError("Matrix is not positive definite")


def _errstate(handler: Any) -> np.errstate:
    return np.errstate(call=handler, invalid="call", over="ignore", divide="ignore",
                       under="ignore")


def _raise_qr(err: Any, flag: Any) -> None:
    raise LinAlgError("Incorrect argument found while performing QR factorization")


def _state(handler: Any) -> Any:
    """numpy.linalg's error state around a LAPACK call, as a context-variable value."""
    if _make_extobj is None:  # pragma: no cover
        return None
    return _make_extobj(call=handler, invalid="call", over="ignore", divide="ignore",
                        under="ignore")


_SINGULAR_STATE = _state(_singular)
_QR_STATE = _state(_raise_qr)


def _lapack(state: Any, handler: Any, gufunc: Any, args: tuple[Any, ...], sig: str) -> Any:
    """``gufunc(*args)`` under numpy.linalg's error state (``state`` or ``handler``)."""
    if state is None:  # pragma: no cover
        with _errstate(handler):
            return gufunc(*args, signature=sig)
    token = _extobj_contextvar.set(state)
    try:
        return gufunc(*args, signature=sig)
    finally:
        _extobj_contextvar.reset(token)


def inv(a: FloatArray) -> FloatArray:
    """Inverse of the (k, k) matrix ``a``; raises `LinAlgError` when it is singular."""
    if _gufuncs is None:  # pragma: no cover
        return np.linalg.inv(a)
    with _errstate(_singular):
        return _gufuncs.inv(a, signature="d->d")


def solve(a: FloatArray, b: FloatArray) -> FloatArray:
    """Solution ``x`` (k,) of ``a x = b``; raises `LinAlgError` when ``a`` is singular."""
    if _gufuncs is None:  # pragma: no cover
        return np.linalg.solve(a, b)
    if _extobj_contextvar is None:  # pragma: no cover
        return _lapack(None, _singular, _gufuncs.solve1, (a, b), "dd->d")
    token = _extobj_contextvar.set(_SINGULAR_STATE)   # (inlined `_lapack`: the hot path)
    try:
        return _gufuncs.solve1(a, b, signature="dd->d")
    finally:
        _extobj_contextvar.reset(token)


def solve_many(a: FloatArray, b: FloatArray) -> FloatArray:
    """Solution ``x`` (k, p) of ``a x = b`` for ``b`` (k, p), as `numpy.linalg.solve`."""
    if _gufuncs is None:  # pragma: no cover
        return np.linalg.solve(a, b)
    return _lapack(_SINGULAR_STATE, _singular, _gufuncs.solve, (a, b), "dd->d")


@lru_cache(maxsize=256)
def _below_diagonal(rows: int, cols: int) -> npt.NDArray[np.bool_]:
    mask = np.tri(rows, cols, k=-1, dtype=bool)
    mask.flags.writeable = False
    return mask


def qr(a: FloatArray, complete: bool = False, overwrite: bool = False
       ) -> tuple[FloatArray, FloatArray]:
    """``(q, r)`` of the (m, n) float64 ``a``, bit for bit `numpy.linalg.qr` in mode
    ``'reduced'`` (or ``'complete'``): q (m, k), r (k, n) with k = min(m, n) (m if complete).

    ``overwrite=True`` lets the factorisation work in ``a`` itself (a scratch array the caller
    no longer needs; ``r`` is then a view of it)."""
    if _gufuncs is None:  # pragma: no cover
        return tuple(np.linalg.qr(a, mode="complete" if complete else "reduced"))
    m, n = a.shape
    work = a if overwrite and a.dtype == np.float64 else a.astype(np.float64, copy=True)
    if complete and m > n:
        k, gufunc = m, _gufuncs.qr_complete
    else:
        k, gufunc = min(m, n), _gufuncs.qr_reduced
    if _extobj_contextvar is None:  # pragma: no cover
        with _errstate(_raise_qr):
            tau = _gufuncs.qr_r_raw(work, signature="d->d")
            q = gufunc(work, tau, signature="dd->d")
    else:
        token = _extobj_contextvar.set(_QR_STATE)
        try:
            tau = _gufuncs.qr_r_raw(work, signature="d->d")
            q = gufunc(work, tau, signature="dd->d")
        finally:
            _extobj_contextvar.reset(token)
    r = work[:k]                 # work is private: zero its Householder vectors in place
    if k > 1:
        r[_below_diagonal(k, n)] = 0.0
    return q, r


def is_positive_definite(a: FloatArray) -> bool:
    """Whether LAPACK's Cholesky factorisation of the symmetric (k, k) ``a`` succeeds."""
    try:
        if _gufuncs is None:  # pragma: no cover
            np.linalg.cholesky(a)
        else:
            with _errstate(_not_positive_definite):
                _gufuncs.cholesky_lo(a, signature="d->d")
    except LinAlgError:
        return False
    return True


def reduce_sum(values: list[float]) -> float:
    """``np.add.reduce`` of these float64 values (a list), bit for bit, on Python floats:
    below eight values numpy adds them in order to -0.0 and that to its identity 0.0; from
    eight on it sums pairwise, and numpy is called."""
    if len(values) >= 8:
        return float(np.add.reduce(np.array(values, dtype=np.float64)))
    total = -0.0
    for v in values:
        total += v
    return 0.0 + total
