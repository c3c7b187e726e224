"""The batched objective: ``fun(X) -> (k,)`` on a ``(k, d)`` batch, its gradients, and failures.

`BatchObjective` evaluates a batch of rows that belong to given starts, counts evaluations per
start, checks the shape of what ``fun`` returns (a wrong shape is a programming error and raises
`BatchShapeError` for the whole call), and isolates failures: when ``fun`` raises on a block of
rows, the rows of that block are evaluated one at a time and only the rows that raise fail (their
exception text is kept). Finite-difference gradients of ``m`` points take one ``fun`` call on
``m * d`` rows (``m * (d + 1)`` when the values at the points are not known yet), split into
blocks: of ``block_rows`` rows when that option is given, else of the size `blocks.BlockSizer`
finds fastest for this objective (timed while the run goes; at most `DEFAULT_BLOCK_ROWS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .blocks import BlockSizer

__all__ = ["BatchObjective", "BatchShapeError", "Evaluation", "DEFAULT_BLOCK_ROWS"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

#: most rows per ``fun`` call when the ``block_rows`` option is not given
DEFAULT_BLOCK_ROWS = 16384
_REL_STEP = float(np.sqrt(np.finfo(float).eps))


class BatchShapeError(ValueError):
    """``fun`` (or ``jac``) returned an array of the wrong shape for the batch it was given."""


@dataclass(frozen=True)
class Evaluation:
    """Values (and gradients) at ``m`` points.

    Attributes
    ----------
    f : ndarray, shape (m,)
        Objective values (NaN where ``error`` is set).
    g : ndarray, shape (m, d) or None
        Gradients, when they were asked for.
    error : dict of int to str
        Exception text by point, for the points where ``fun`` or ``jac`` raised (usually empty).
    """

    f: FloatArray
    g: FloatArray | None
    error: dict[int, str]

    def failure(self, row: int) -> str | None:
        """Return why point ``row`` failed (an exception or a non-finite value), or None."""
        if row in self.error:
            return f"The objective function raised {self.error[row]}"
        value = self.f[row]
        if not np.isfinite(value):
            return _non_finite(float(value))
        if self.g is not None and not np.isfinite(self.g[row]).all():
            bad = self.g[row][~np.isfinite(self.g[row])][0]
            return _non_finite(float(bad))
        return None

    def failed(self) -> npt.NDArray[np.bool_]:
        """Mask (m,) of the points that raised or gave a non-finite value or gradient."""
        bad = ~np.isfinite(self.f)
        if self.error:
            bad[list(self.error)] = True
        if self.g is not None:
            bad |= ~np.isfinite(self.g).all(axis=1)
        return bad


def _non_finite(value: float) -> str:
    return (f"The objective function returned a non-finite value ({value!r}); "
            "the run stopped at the best finite point found.")


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class BatchObjective:
    """``fun(X, *args)`` for row batches of known starts, with per-start evaluation counts.

    Parameters
    ----------
    fun : callable
        ``fun(X, *args)`` with ``X`` of shape (m, d); returns shape (m,), or ``(f (m,), g (m, d))``
        when ``jac is True``.
    jac : callable, True or None
        A batched gradient ``jac(X, *args) -> (m, d)``, True (``fun`` returns both), or None for
        forward differences.
    args : tuple
        Extra arguments of ``fun`` and ``jac``.
    n_starts, d : int
        Number of starts (the length of the count arrays) and of variables.
    lb, ub : ndarray, shape (d,)
        Bounds that finite-difference steps must respect (infinite where there is none).
    rel_step : float or None
        Relative step ``h = rel_step * sign(x) * max(1, |x|)``; default ``sqrt(eps)``.
    abs_step : float or None
        Absolute step instead of the relative rule, when given (scipy's ``eps`` option).
    block_rows : int or None
        Rows per ``fun`` call (the last block of a request may be smaller); None: chosen from
        measured times (`blocks.BlockSizer`), at most `DEFAULT_BLOCK_ROWS`.
    """

    def __init__(self, fun: Callable[..., Any], jac: Callable[..., Any] | bool | None,
                 args: tuple[Any, ...], n_starts: int, d: int, lb: FloatArray, ub: FloatArray,
                 *, rel_step: float | None = None, abs_step: float | None = None,
                 block_rows: int | None = None) -> None:
        self.fun, self.jac, self.args, self.d = fun, jac, args, d
        self.lb, self.ub = lb, ub
        self.bounded = bool(np.isfinite(lb).any() or np.isfinite(ub).any())
        self.rel_step = _REL_STEP if rel_step is None else float(rel_step)
        self.abs_step = abs_step
        self.block_rows = None if block_rows is None else max(1, int(block_rows))
        self.sizer = BlockSizer(DEFAULT_BLOCK_ROWS) if block_rows is None else None
        self.nfev = np.zeros(n_starts, dtype=np.int64)
        self.njev = np.zeros(n_starts, dtype=np.int64)

    @property
    def returns_gradient(self) -> bool:
        """True when ``fun`` returns the gradient with the value (``jac=True``)."""
        return self.jac is True

    # -- raw calls ---------------------------------------------------------------------------
    def _call_block(self, X: FloatArray) -> tuple[FloatArray, FloatArray | None]:
        out = self.fun(X, *self.args)
        if self.jac is True:
            if not isinstance(out, tuple) or len(out) != 2:
                raise BatchShapeError(
                    "with jac=True, fun(X) must return a tuple (f of shape (m,), g of shape "
                    f"(m, d)); got {type(out).__name__}")
            return self._check_f(out[0], X), self._check_g(out[1], X)
        return self._check_f(out, X), None

    def _check_f(self, out: Any, X: FloatArray) -> FloatArray:
        f = np.asarray(out, dtype=float)
        if f.shape != (X.shape[0],):
            raise BatchShapeError(
                f"fun(X) must return shape ({X.shape[0]},) for X of shape {X.shape}, "
                f"got shape {f.shape}")
        return f

    def _check_g(self, out: Any, X: FloatArray) -> FloatArray:
        g = np.asarray(out, dtype=float)
        if g.shape != X.shape:
            raise BatchShapeError(
                f"the gradient must have shape {X.shape} for X of shape {X.shape}, "
                f"got shape {g.shape}")
        return g

    def _rows(self, X: FloatArray) -> tuple[FloatArray, FloatArray | None, dict[int, str]]:
        """Evaluate every row of ``X`` in blocks; a block that raises is redone row by row."""
        m = X.shape[0]
        f = np.empty(m)
        g = np.empty((m, self.d)) if self.jac is True else None
        error: dict[int, str] = {}
        if self.sizer is not None:
            sizes = self.sizer.plan(m)
        else:
            assert self.block_rows is not None
            sizes = [min(self.block_rows, m - lo) for lo in range(0, m, self.block_rows)]
        hi = 0
        for size in sizes:
            lo, hi = hi, hi + size
            started = time.perf_counter()
            try:
                fb, gb = self._call_block(X[lo:hi])
            except BatchShapeError:
                raise
            except Exception:  # isolate the failing rows of this block
                self._rows_one_by_one(X, lo, hi, f, g, error)
                continue
            if self.sizer is not None:
                self.sizer.record(size, time.perf_counter() - started)
            f[lo:hi] = fb
            if g is not None and gb is not None:
                g[lo:hi] = gb
        return f, g, error

    def _rows_one_by_one(self, X: FloatArray, lo: int, hi: int, f: FloatArray,
                         g: FloatArray | None, error: dict[int, str]) -> None:
        for i in range(lo, hi):
            try:
                fi, gi = self._call_block(X[i:i + 1])
            except BatchShapeError:
                raise
            except Exception as exc:
                f[i] = np.nan
                if g is not None:
                    g[i] = np.nan
                error[i] = _describe(exc)
                continue
            f[i] = fi[0]
            if g is not None and gi is not None:
                g[i] = gi[0]

    def _jac_rows(self, X: FloatArray) -> tuple[FloatArray, dict[int, str]]:
        assert callable(self.jac)
        try:
            return self._check_g(self.jac(X, *self.args), X), {}
        except BatchShapeError:
            raise
        except Exception:
            g = np.empty_like(X)
            error: dict[int, str] = {}
            for i in range(X.shape[0]):
                try:
                    g[i] = self._check_g(self.jac(X[i:i + 1], *self.args), X[i:i + 1])[0]
                except BatchShapeError:
                    raise
                except Exception as exc:
                    g[i], error[i] = np.nan, _describe(exc)
            return g, error

    # -- what the methods call ---------------------------------------------------------------
    def values(self, X: FloatArray, ids: IntArray) -> Evaluation:
        """Objective at the rows of ``X`` (m, d), row i belonging to start ``ids[i]``.

        With ``jac=True`` the gradients come along (``g`` is set); otherwise ``g`` is None.
        """
        f, g, error = self._rows(X)
        np.add.at(self.nfev, ids, 1)  # ids may repeat (several vertices of one start)
        if g is not None:
            np.add.at(self.njev, ids, 1)
        return Evaluation(f, g, error)

    def values_and_gradients(self, X: FloatArray, ids: IntArray,
                             known: Evaluation | None = None) -> Evaluation:
        """Objective and gradient at the rows of ``X`` (m, d).

        ``known`` holds the values at ``X`` when they were already computed (not counted again).
        """
        if self.jac is True:
            return known if known is not None and known.g is not None else self.values(X, ids)
        base = known if known is not None else self.values(X, ids) if callable(self.jac) \
            else None
        if callable(self.jac):
            assert base is not None
            g, jac_error = self._jac_rows(X)
            self.njev[ids] += 1
            return Evaluation(base.f, g, {**jac_error, **base.error})
        return self._finite_differences(X, ids, base)

    def steps(self, X: FloatArray) -> FloatArray:
        """Forward-difference steps (m, d): scipy's rule, flipped to stay inside the bounds."""
        if self.abs_step is not None:
            h = np.full_like(X, self.abs_step)
        else:
            sign = np.where(X >= 0.0, 1.0, -1.0)
            h = self.rel_step * sign * np.maximum(1.0, np.abs(X))
        if not self.bounded:
            return (X + h) - X  # the step actually taken, in floating point
        forward = X + h
        outside = (forward > self.ub) | (forward < self.lb)
        backward_ok = (X - h >= self.lb) & (X - h <= self.ub)
        h = np.where(outside & backward_ok, -h, h)
        return (X + h) - X  # the step actually taken, in floating point

    def _finite_differences(self, X: FloatArray, ids: IntArray,
                            known: Evaluation | None) -> Evaluation:
        m, d = X.shape
        h = self.steps(X)
        first = 0 if known is not None else m   # the points themselves come first if needed
        stacked = np.empty((first + m * d, d))
        stacked[:first] = X[:first]
        shifted = stacked[first:].reshape(m, d, d)  # row j of start i moves its x_j
        shifted[...] = X[:, np.newaxis, :]
        diag = np.arange(d)
        shifted[:, diag, diag] += h
        if known is None:
            f_all, _, err_all = self._rows(stacked)
            f0, f_shift = f_all[:m], f_all[m:].reshape(m, d)
            error0 = {r: e for r, e in err_all.items() if r < m}
            err_shift = {r - m: e for r, e in err_all.items() if r >= m}
            self.nfev[ids] += d + 1
        else:
            f_flat, _, err_shift = self._rows(stacked)
            f0, f_shift, error0 = known.f, f_flat.reshape(m, d), known.error
            self.nfev[ids] += d
        self.njev[ids] += 1
        with np.errstate(invalid="ignore", over="ignore"):  # inf - inf: a failed start
            g = (f_shift - f0[:, np.newaxis]) / h
        error = dict(error0)
        for r in sorted(err_shift):  # the first failing shifted row of a start names it
            error.setdefault(r // d, err_shift[r])
        return Evaluation(f0, g, error)
