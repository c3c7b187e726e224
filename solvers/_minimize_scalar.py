"""`minimize_scalar` and `bracket`: scipy's entry points for functions of one variable."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._core.bounds import scalar_bounds
from ._core.callback import Iterations
from ._core.objective import as_scalar
from ._options import split_options
from ._registry import SCALAR_METHODS
from ._result import OptimizeResult
from ._search.scalar import (
    BracketError,
    BracketInfo,
    ScalarMonitor,
    bracket_search,
    float_function,
)

__all__ = ["BracketError", "bracket", "minimize_scalar"]

_BRACKET_METHODS = ("brent", "golden")


def bracket(func: Callable[..., Any], xa: float = 0.0, xb: float = 1.0, args: Any = (),
            grow_limit: float = 110.0, maxiter: int = 1000) -> BracketInfo:
    """Bracket a minimum of ``func``, searching downhill from ``xa`` and ``xb`` (scipy's `bracket`).

    Parameters
    ----------
    func : callable
        ``func(x, *args) -> float`` for a float ``x``.
    xa, xb : float
        Initial points; the search goes downhill from the higher to the lower.
    args : tuple
        Extra arguments for ``func`` (a non-tuple is wrapped).
    grow_limit : float
        Largest growth of a parabolic step relative to the last step.
    maxiter : int
        Maximum number of search steps.

    Returns
    -------
    xa, xb, xc : float
        The bracket: ``xb`` strictly between ``xa`` and ``xc``.
    fa, fb, fc : float
        ``func`` at those points; ``fb`` is no larger than ``fa`` and ``fc`` (and strictly
        smaller than one of them).
    funcalls : int
        Number of evaluations.

    Raises
    ------
    BracketError
        (a `RuntimeError`) When the search ended without a valid bracket; ``error.data`` holds
        the last points and values.
    RuntimeError
        When no bracket was found within ``maxiter`` steps.
    """
    if not isinstance(args, tuple):
        args = (args,)
    return bracket_search(float_function(func, args), xa, xb, grow_limit=grow_limit,
                          maxiter=maxiter)


def _method_key(method: Any, bounds: Any) -> str:
    if callable(method):
        return "_custom"
    if method is None:
        return "brent" if bounds is None else "bounded"
    if not isinstance(method, str):
        raise ValueError(f"'method' must be a string or a callable, got {type(method).__name__}.")
    key = method.lower()
    if key not in SCALAR_METHODS:
        raise ValueError(f"Unknown solver {method!r}; valid methods are: "
                         f"{', '.join(SCALAR_METHODS)}.")
    return key


def _apply_tol(key: str, tol: float | None, options: dict[str, Any]) -> None:
    if tol is None:
        return
    if key == "bounded" and "xatol" not in options:
        warnings.warn("Method 'bounded' does not support relative tolerance in x; "
                      "defaulting to absolute tolerance.", RuntimeWarning, stacklevel=3)
        options["xatol"] = tol
    elif key == "_custom":
        options.setdefault("tol", tol)
    else:
        options.setdefault("xtol", tol)


def _as_result_scalars(res: OptimizeResult, shape: tuple[int, ...] | None = None
                       ) -> OptimizeResult:
    """Give ``res.fun`` and ``res.x`` numpy types shaped like what ``fun`` returned: numpy
    scalars for a scalar, arrays of ``shape`` (``(1,)``, ``(1, 1)``...) otherwise (scipy's
    gh-16196 behaviour).  ``shape`` None: the shape of ``res.fun`` itself."""
    fun = np.asarray(res.fun)
    if shape is not None:
        fun = np.reshape(fun, shape)
    res.fun = fun[()]
    res.x = np.reshape(res.x, np.shape(res.fun))[()]
    return res


def _shape_keeping_function(fun: Callable[..., Any], args: tuple[Any, ...],
                            shape: list[tuple[int, ...]]) -> Callable[[float], float]:
    """``x -> float(fun(x, *args))`` (as `float_function`, at the same cost per call) that
    writes the shape of a non-float value ``fun`` returns into ``shape[0]``."""
    def f(x: float) -> float:
        value = fun(x, *args)
        if isinstance(value, float):
            return float(value)
        shape[0] = np.shape(value)
        return as_scalar(value)
    return f


def minimize_scalar(fun: Callable[..., Any], bracket: Sequence[float] | None = None,
                    bounds: Sequence[float] | None = None, args: Any = (), method: Any = None,
                    tol: float | None = None,
                    options: dict[str, Any] | None = None) -> OptimizeResult:
    """Minimize a function of one variable, as `scipy.optimize.minimize_scalar`.

    Parameters
    ----------
    fun : callable
        ``fun(x, *args) -> float`` for a float ``x``.
    bracket : sequence, optional
        For 'brent' and 'golden': ``(xa, xb)`` to start a downhill bracket search, or a bracket
        ``(xa, xb, xc)`` with ``xa < xb < xc`` and ``fun(xb) < fun(xa), fun(xc)``.
    bounds : sequence or `Bounds`-like, optional
        ``(lo, hi)`` (or an object with scalar ``lb``, ``ub``), finite, for 'bounded' (mandatory there, refused by 'brent' and 'golden').
    args : tuple
        Extra arguments for ``fun`` (a non-tuple is wrapped).
    method : str or callable, optional
        'brent' (default), 'bounded' (default when ``bounds`` are given), 'golden'
        (case-insensitive), or a custom method called as
        ``method(fun, args=args, bracket=bracket, bounds=bounds, **options)``.
    tol : float, optional
        Tolerance: ``xtol`` for 'brent'/'golden', ``xatol`` (with a `RuntimeWarning`: the
        tolerance becomes absolute) for 'bounded', ``tol`` for a custom method.
    options : dict, optional
        Method options (see ``show_options('minimize_scalar')``), plus ``trace=True`` to record
        ``result.trace`` (x as shape (1,) arrays, f, NaN gradient norm, cumulative nfev).

    Returns
    -------
    OptimizeResult
        ``x`` and ``fun`` (numpy scalars), ``nit``, ``nfev``, ``success``, ``message``, and
        ``status`` for 'bounded'.
    """
    if not isinstance(args, tuple):
        args = (args,)
    key = _method_key(method, bounds)
    options = dict(options or {})
    if bounds is not None and key in _BRACKET_METHODS:
        raise ValueError(f"Use of `bounds` is incompatible with 'method={method}'.")
    _apply_tol(key, tol, options)
    if key == "_custom":
        res = method(fun, args=args, bracket=bracket, bounds=bounds, **options)
        return _as_result_scalars(res)
    if key == "bounded" and bounds is None:
        raise ValueError("The `bounds` parameter is mandatory for method `bounded`.")
    trace = bool(options.pop("trace", False))
    if isinstance(options.get("disp"), bool):
        options["disp"] = 2 * int(options["disp"])
    runner = SCALAR_METHODS[key]
    options = split_options(runner, options)
    iterations = Iterations(trace=True) if trace else None
    verbose = options.get("disp", 0) > 2
    monitor = ScalarMonitor(iterations, verbose=verbose) if trace or verbose else None
    where = scalar_bounds(bounds) if key == "bounded" else bracket
    shape: list[tuple[int, ...]] = [()]
    res = runner(_shape_keeping_function(fun, args, shape), where, monitor, **options)
    if iterations is not None:
        res.trace = iterations.trace
    return _as_result_scalars(res, shape[0])
