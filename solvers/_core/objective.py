"""The objective as a solver sees it: bound arguments, counted and validated evaluations.

`ScalarObjective` wraps the user's ``fun`` (and ``jac``): it binds ``args``, passes a copy of
``x``, checks that ``fun`` returns a real scalar (a clear `ValueError` naming the type or shape
otherwise), counts evaluations exactly as scipy counts them, memoises the value and gradient at
the last point, computes finite-difference gradients when no ``jac`` is given, remembers the
best finite point seen, and stops the run (`_stops.NonFiniteValue`, `_stops.EvaluationLimit`)
on a NaN/inf value or when the evaluation budget is spent.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from .finite_diff import FD_METHODS, approx_gradient
from .stops import EvaluationLimit, NonFiniteValue

__all__ = ["ScalarObjective", "as_scalar"]

FloatArray = npt.NDArray[np.float64]
_SMALL = 32     # up to this many variables, checks loop over Python floats (fewer numpy calls)
_NOT_SCALAR = "The user-provided objective function must return a scalar value."  # scipy's words


def as_scalar(value: Any) -> float:
    """Return ``value`` as a float, or raise `ValueError` naming its type or shape."""
    if type(value) is float:
        return value
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic objects
        raise ValueError(
            f"{_NOT_SCALAR} It returned {type(value).__name__}, not a real number."
        ) from exc
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"{_NOT_SCALAR} It returned {type(value).__name__}"
            + (f" of dtype {arr.dtype}" if arr.ndim else "") + ", not a real number."
        )
    if arr.size != 1:
        raise ValueError(f"{_NOT_SCALAR} It returned an array of shape {arr.shape}.")
    return float(arr.reshape(()))


class ScalarObjective:
    """Counted, validated, memoised access to a scalar objective and its gradient.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float``; with ``jac=True`` it returns ``(f, g)``.
    args : tuple
        Extra arguments passed to ``fun`` and ``jac``.
    jac : callable, True, {'2-point', '3-point', 'cs'} or None
        Gradient source; None means forward differences with absolute step ``eps``.
    eps : float or array, optional
        Absolute finite-difference step (used when ``jac`` is None).
    rel_step : float or array, optional
        Relative finite-difference step (used with a named scheme).
    lb, ub : ndarray, optional
        Bounds that finite-difference steps must respect, shape (n,).
    max_nfev : int, optional
        Evaluation budget; evaluation number ``max_nfev + 1`` stops the run.
    """

    def __init__(
        self, fun: Callable[..., Any], args: tuple[Any, ...] = (), jac: Any = None, *,
        eps: float | FloatArray | None = None, rel_step: float | FloatArray | None = None,
        lb: FloatArray | None = None, ub: FloatArray | None = None, max_nfev: int | None = None,
    ) -> None:
        self._fun = fun
        self._args = args
        self._jac = jac
        self._returns_grad = jac is True
        self._fd_method = jac if isinstance(jac, str) and jac in FD_METHODS else "2-point"
        self._fd_abs = eps if jac is None or jac is False else None
        self._fd_rel = rel_step
        self._uses_fd = not (callable(jac) or jac is True)
        self._jac_alone = callable(jac)  # a gradient needs no value at the same point
        self._lb, self._ub = lb, ub
        self.max_nfev = max_nfev
        self.nfev = 0
        self.njev = 0
        self.best_x: FloatArray | None = None
        self.best_f = np.inf
        self._g_raw: Any = None
        self._x: FloatArray | None = None
        self._f: float | None = None
        self._g: FloatArray | None = None

    # -- raw, counted evaluations -------------------------------------------------------------
    def _count(self) -> None:
        if self.max_nfev is not None and self.nfev >= self.max_nfev:
            raise EvaluationLimit()
        self.nfev += 1

    def _check(self, x: FloatArray, f: float, *, owned: bool = False) -> float:
        """Validate ``f`` and remember ``x`` when it is the best point (a copy unless
        ``owned``: an array that nobody mutates, which can then be kept as it is)."""
        if not math.isfinite(f):
            raise NonFiniteValue(f)
        if f < self.best_f:
            self.best_f = f
            self.best_x = x if owned else np.array(x, dtype=float)
        return f

    def evaluate(self, x: FloatArray) -> float:
        """Return ``fun(x)``: one counted, validated evaluation, never memoised."""
        self._count()
        out = self._fun(np.array(x, dtype=float), *self._args)
        if self._returns_grad:
            out, self._g_raw = out
        return self._check(x, as_scalar(out))

    def _evaluate_complex(self, x: Any) -> Any:
        self._count()
        out = self._fun(x, *self._args)
        return out[0] if self._returns_grad else out

    # -- memoised access ---------------------------------------------------------------------
    def _at(self, x: FloatArray) -> bool:
        """Whether ``x`` equals the memoised point (as `numpy.array_equal`: NaN never equal)."""
        xk = self._x
        if xk is None:
            return False
        if type(x) is np.ndarray and x.shape == xk.shape:
            if x.size <= _SMALL:    # list equality compares the floats with == too
                return x is xk or x.tolist() == xk.tolist()
            return x is xk or bool((x == xk).all())
        return np.array_equal(x, xk)

    def fun(self, x: FloatArray) -> float:
        """Return ``fun(x)``, reusing the value at the last point."""
        at = self._at(x)
        if at and self._f is not None:
            return self._f
        if not at:
            self._x, self._g = None, None
        self._count()
        xk = np.array(x, dtype=float) if self._x is None else self._x  # the memoised point
        out = self._fun(xk.copy(), *self._args)
        if self._returns_grad:
            out, self._g_raw = out
        f = self._check(xk, as_scalar(out), owned=True)
        self._x, self._f = xk, f
        return f

    def grad(self, x: FloatArray) -> FloatArray:
        """Return the gradient at ``x``, shape (n,), reusing the one at the last point.

        A callable ``jac`` at a new point is called alone (``fun`` is evaluated when asked for,
        as scipy's ScalarFunction does); the other sources need ``fun(x)`` first."""
        if self._jac_alone:
            if not self._at(x):
                self._x, self._f, self._g = np.array(x, dtype=float), None, None
            elif self._g is not None:
                return self._g
            xk: FloatArray = self._x  # type: ignore[assignment]
            g = np.asarray(self._jac(xk.copy(), *self._args), dtype=float)
            self.njev += 1
            self._g = self._check_grad(g, xk.size)
            return self._g
        f = self.fun(x)
        if self._g is not None:
            return self._g
        xk = self._x  # type: ignore[assignment]
        if self._returns_grad:
            g = np.asarray(self._g_raw, dtype=float)
        else:  # finite differences from fun(x)
            raw = self._evaluate_complex if self._fd_method == "cs" else self.evaluate
            g = approx_gradient(raw, xk, f, method=self._fd_method, rel_step=self._fd_rel,
                                abs_step=self._fd_abs, lb=self._lb, ub=self._ub)
        self.njev += 1
        self._g = self._check_grad(g, xk.size)
        return self._g

    @staticmethod
    def _check_grad(g: FloatArray, n: int) -> FloatArray:
        if g.ndim != 1:
            g = np.atleast_1d(g)
        if g.shape != (n,):
            raise ValueError(f"The gradient must have shape ({n},), got {g.shape}.")
        if not (all(map(math.isfinite, g.tolist())) if n <= _SMALL else np.isfinite(g).all()):
            raise NonFiniteValue(float(g[~np.isfinite(g)][0]))
        return g

    def fun_and_grad(self, x: FloatArray) -> tuple[float, FloatArray]:
        """Return ``(fun(x), grad(x))``."""
        f = self.fun(x)
        return f, self.grad(x)

    def cached_grad(self, x: FloatArray) -> FloatArray | None:
        """Return the gradient at ``x`` if it is already known, else None (no evaluation)."""
        return self._g if self._at(x) else None
