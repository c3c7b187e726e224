"""``inv``, ``solve``, ``qr`` and a Cholesky test for small float64 matrices (L-BFGS-B, SLSQP).

`numpy.linalg`'s public functions spend a few microseconds per call checking and converting
their arguments; L-BFGS-B calls them on (2m, 2m) matrices (``m <= maxcor``) a few times per
iteration, where that overhead is most of the cost.  `LapackBackend` calls the same LAPACK
gufuncs that `numpy.linalg.inv`, `numpy.linalg.solve`, `numpy.linalg.qr` and
`numpy.linalg.cholesky` call, under the same floating-point error state, so the results (and the
`numpy.linalg.LinAlgError` on a singular or indefinite matrix) are identical, bit for bit; SLSQP
relies on that.  Inputs must be float64 arrays of the right shapes (any memory layout): (k, k)
and (k,) (`solve_many`: (k, p) right-hand sides; `qr`: any (m, n)).

Those gufuncs live in numpy's private modules (``numpy.linalg._umath_linalg`` and the error-state
context variable of ``numpy._core._ufunc_config``, both as in numpy >= 2.0; numpy 1.26 has
neither ``qr_r_raw`` nor the context variable).  At import, `select_backend` loads them and
checks them against the public functions on a few fixed matrices; when the import fails, a name
is missing or any number differs, `PublicBackend` (plain `numpy.linalg`, the same numbers, only
slower) is used instead.  `BACKEND` names the one in use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from contextvars import ContextVar
from functools import lru_cache
from typing import Any, Final, Protocol, cast

import numpy as np
import numpy.typing as npt

__all__ = ["BACKEND", "LapackBackend", "LinalgBackend", "PublicBackend", "agrees_with_public",
           "inv", "is_positive_definite", "qr", "reduce_sum", "select_backend", "solve",
           "solve_many"]

FloatArray = npt.NDArray[np.float64]
LinAlgError = np.linalg.LinAlgError
#: numpy's floating-point error callback: ``handler(kind_of_error, flag)``
ErrorHandler = Callable[[str, int], None]

_GUFUNC_MODULE = "numpy.linalg._umath_linalg"
_ERROR_STATE_MODULE = "numpy._core._ufunc_config"
_GUFUNC_NAMES = ("inv", "solve1", "solve", "qr_r_raw", "qr_reduced", "qr_complete",
                 "cholesky_lo")


class LinalgBackend(Protocol):
    """The small-matrix linear algebra the solvers use (see the module docstring)."""

    name: str

    def inv(self, a: FloatArray) -> FloatArray:
        """Inverse of the (k, k) matrix ``a``; raises `LinAlgError` when it is singular."""
        ...

    def solve(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k,) of ``a x = b``; raises `LinAlgError` when ``a`` is singular."""
        ...

    def solve_many(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k, p) of ``a x = b`` for ``b`` (k, p), as `numpy.linalg.solve`."""
        ...

    def qr(self, a: FloatArray, complete: bool = False, overwrite: bool = False
           ) -> tuple[FloatArray, FloatArray]:
        """``(q, r)`` of the (m, n) float64 ``a``, as `numpy.linalg.qr` in mode ``'reduced'``
        (or ``'complete'``): q (m, k), r (k, n) with k = min(m, n) (m if complete).

        ``overwrite=True`` lets the factorisation work in ``a`` itself (a scratch array the
        caller no longer needs; ``r`` may then be a view of it)."""
        ...

    def is_positive_definite(self, a: FloatArray) -> bool:
        """Whether LAPACK's Cholesky factorisation of the symmetric (k, k) ``a`` succeeds."""
        ...


class PublicBackend:
    """`LinalgBackend` on numpy's public `numpy.linalg` functions (any numpy version)."""

    name = "numpy.linalg"

    def inv(self, a: FloatArray) -> FloatArray:
        """Inverse of the (k, k) matrix ``a``; raises `LinAlgError` when it is singular."""
        return cast(FloatArray, np.linalg.inv(a))   # float64 in, float64 out (stub: floating)

    def solve(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k,) of ``a x = b``; raises `LinAlgError` when ``a`` is singular."""
        return cast(FloatArray, np.linalg.solve(a, b))

    def solve_many(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k, p) of ``a x = b`` for ``b`` (k, p), as `numpy.linalg.solve`."""
        return cast(FloatArray, np.linalg.solve(a, b))

    def qr(self, a: FloatArray, complete: bool = False, overwrite: bool = False
           ) -> tuple[FloatArray, FloatArray]:
        """`numpy.linalg.qr` of ``a`` (``overwrite`` is accepted and ignored)."""
        q, r = np.linalg.qr(a, mode="complete" if complete else "reduced")
        return q, r

    def is_positive_definite(self, a: FloatArray) -> bool:
        """Whether `numpy.linalg.cholesky` of the symmetric (k, k) ``a`` succeeds."""
        try:
            np.linalg.cholesky(a)
        except LinAlgError:
            return False
        return True


def _singular(err: str, flag: int) -> None:
    raise LinAlgError("Singular matrix")


def _not_positive_definite(err: str, flag: int) -> None:
    raise LinAlgError("Matrix is not positive definite")


def _raise_qr(err: str, flag: int) -> None:
    raise LinAlgError("Incorrect argument found while performing QR factorization")


def _errstate(handler: ErrorHandler) -> np.errstate:
    """numpy.linalg's error state around a LAPACK call, as a context manager."""
    return np.errstate(call=handler, invalid="call", over="ignore", divide="ignore",
                       under="ignore")


@lru_cache(maxsize=256)
def _below_diagonal(rows: int, cols: int) -> npt.NDArray[np.bool_]:
    mask = np.tri(rows, cols, k=-1, dtype=bool)
    mask.flags.writeable = False
    return mask


class LapackBackend:
    """`LinalgBackend` on numpy's private LAPACK gufuncs (numpy >= 2.0's names), bit for bit
    the public functions without their argument checks.

    Build it with `LapackBackend.load`, which raises `ImportError` when numpy lacks any of the
    pieces.  ``solve`` and ``qr`` set the error state through numpy's context variable (what
    `numpy.errstate` does, without a context manager per call)."""

    name = "numpy.linalg._umath_linalg"

    def __init__(self, gufuncs: Any, error_state: ContextVar[object],
                 make_error_state: Callable[..., object]) -> None:
        # gufuncs: the module numpy.linalg._umath_linalg (typed Any: its names are private)
        self._inv: np.ufunc = gufuncs.inv
        self._solve1: np.ufunc = gufuncs.solve1
        self._solve: np.ufunc = gufuncs.solve
        self._qr_r_raw: np.ufunc = gufuncs.qr_r_raw
        self._qr_reduced: np.ufunc = gufuncs.qr_reduced
        self._qr_complete: np.ufunc = gufuncs.qr_complete
        self._cholesky_lo: np.ufunc = gufuncs.cholesky_lo
        self._error_state = error_state

        def state(handler: ErrorHandler) -> object:
            return make_error_state(call=handler, invalid="call", over="ignore",
                                    divide="ignore", under="ignore")

        self._singular_state = state(_singular)
        self._qr_state = state(_raise_qr)

    @classmethod
    def load(cls) -> LapackBackend:
        """The backend on this numpy's private modules; `ImportError` naming the first piece
        missing (numpy 1.26 has no ``qr_r_raw`` and no error-state context variable)."""
        gufuncs = importlib.import_module(_GUFUNC_MODULE)
        missing = [name for name in _GUFUNC_NAMES if not hasattr(gufuncs, name)]
        if missing:
            raise ImportError(f"numpy {np.__version__}'s {_GUFUNC_MODULE} has no "
                              f"{', '.join(missing)}")
        config = importlib.import_module(_ERROR_STATE_MODULE)
        try:
            return cls(gufuncs, config._extobj_contextvar, config._make_extobj)
        except AttributeError as exc:
            raise ImportError(f"numpy {np.__version__}'s {_ERROR_STATE_MODULE} lacks a name: "
                              f"{exc}") from exc

    def inv(self, a: FloatArray) -> FloatArray:
        """Inverse of the (k, k) matrix ``a``; raises `LinAlgError` when it is singular."""
        with _errstate(_singular):
            return self._inv(a, signature="d->d")

    def solve(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k,) of ``a x = b``; raises `LinAlgError` when ``a`` is singular."""
        token = self._error_state.set(self._singular_state)   # the hot path: no helper call
        try:
            return self._solve1(a, b, signature="dd->d")
        finally:
            self._error_state.reset(token)

    def solve_many(self, a: FloatArray, b: FloatArray) -> FloatArray:
        """Solution ``x`` (k, p) of ``a x = b`` for ``b`` (k, p), as `numpy.linalg.solve`."""
        token = self._error_state.set(self._singular_state)
        try:
            return self._solve(a, b, signature="dd->d")
        finally:
            self._error_state.reset(token)

    def qr(self, a: FloatArray, complete: bool = False, overwrite: bool = False
           ) -> tuple[FloatArray, FloatArray]:
        """``(q, r)`` of the (m, n) float64 ``a``, bit for bit `numpy.linalg.qr` in mode
        ``'reduced'`` (or ``'complete'``): q (m, k), r (k, n) with k = min(m, n) (m if complete).

        ``overwrite=True`` lets the factorisation work in ``a`` itself (a scratch array the
        caller no longer needs; ``r`` is then a view of it)."""
        m, n = a.shape
        work = a if overwrite and a.dtype == np.float64 else a.astype(np.float64, copy=True)
        if complete and m > n:
            k, gufunc = m, self._qr_complete
        else:
            k, gufunc = min(m, n), self._qr_reduced
        token = self._error_state.set(self._qr_state)
        try:
            tau = self._qr_r_raw(work, signature="d->d")
            q: FloatArray = gufunc(work, tau, signature="dd->d")
        finally:
            self._error_state.reset(token)
        r = work[:k]                 # work is private: zero its Householder vectors in place
        if k > 1:
            r[_below_diagonal(k, n)] = 0.0
        return q, r

    def is_positive_definite(self, a: FloatArray) -> bool:
        """Whether LAPACK's Cholesky factorisation of the symmetric (k, k) ``a`` succeeds."""
        try:
            with _errstate(_not_positive_definite):
                self._cholesky_lo(a, signature="d->d")
        except LinAlgError:
            return False
        return True


def _same_bits(got: FloatArray, expected: FloatArray) -> bool:
    return (got.shape == expected.shape and got.dtype == expected.dtype
            and got.tobytes() == expected.tobytes())


def _raises_linalg_error(call: Callable[[], object]) -> bool:
    try:
        call()
    except LinAlgError:
        return True
    return False


def agrees_with_public(backend: LinalgBackend) -> bool:
    """Whether ``backend`` gives `PublicBackend`'s bits on a few fixed matrices and raises
    `LinAlgError` where it does (a singular matrix, an indefinite one)."""
    public = PublicBackend()
    a = np.array([[4.0, 1.0, -2.0], [1.0, 3.0, 0.5], [-2.0, 0.5, 5.0]])
    b = np.array([1.0, -2.0, 0.25])
    tall = np.vstack([a, [0.5, -1.0, 2.0]])
    wide = tall.T
    singular = np.array([[1.0, 2.0], [2.0, 4.0]])
    indefinite = np.array([[1.0, 2.0], [2.0, 1.0]])
    checks = [
        _same_bits(backend.inv(a), public.inv(a)),
        _same_bits(backend.solve(a, b), public.solve(a, b)),
        _same_bits(backend.solve_many(a, a[:, :2]), public.solve_many(a, a[:, :2])),
        backend.is_positive_definite(a) and not backend.is_positive_definite(indefinite),
        _raises_linalg_error(lambda: backend.solve(singular, b[:2])),
        _raises_linalg_error(lambda: backend.solve_many(singular, singular)),
        _raises_linalg_error(lambda: backend.inv(singular)),
    ]
    for matrix in (a, tall, wide):
        for complete in (False, True):
            q, r = backend.qr(matrix, complete=complete)
            q_ref, r_ref = public.qr(matrix, complete=complete)
            checks.append(_same_bits(q, q_ref) and _same_bits(np.ascontiguousarray(r), r_ref))
    return all(checks)


def select_backend(load: Callable[[], LinalgBackend] = LapackBackend.load) -> LinalgBackend:
    """The backend from ``load()`` if it loads and `agrees_with_public`, else `PublicBackend`.

    Any exception from loading or checking it (a missing module or name, a changed gufunc
    signature) means the fallback: this is a speed-up, never a requirement."""
    try:
        backend = load()
        agrees = agrees_with_public(backend)
    except Exception:  # noqa: BLE001 - any failure of numpy's private API means the fallback
        return PublicBackend()
    return backend if agrees else PublicBackend()


_BACKEND: Final[LinalgBackend] = select_backend()
#: the name of the backend in use: ``"numpy.linalg._umath_linalg"`` or ``"numpy.linalg"``
BACKEND: Final[str] = _BACKEND.name

inv = _BACKEND.inv
solve = _BACKEND.solve
solve_many = _BACKEND.solve_many
qr = _BACKEND.qr
is_positive_definite = _BACKEND.is_positive_definite


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
