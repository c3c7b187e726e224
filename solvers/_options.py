"""Solver options: the unknown-option warning and `show_options`.

A runner's options are exactly its keyword-only parameters, and its docstring documents them,
so the list of known options and the text `show_options` prints cannot drift apart.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any

from ._result import OptimizeWarning

__all__ = ["known_options", "split_options", "show_options"]


@functools.cache
def known_options(runner: Callable[..., Any]) -> frozenset[str]:
    """Names of the keyword-only parameters of ``runner``."""
    params = inspect.signature(runner).parameters.values()
    return frozenset(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)


def split_options(runner: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """Return the options ``runner`` knows; warn (`OptimizeWarning`) naming the others."""
    known = known_options(runner)
    unknown = [name for name in options if name not in known]
    if unknown:
        warnings.warn(f"Unknown solver options: {', '.join(unknown)}", OptimizeWarning,
                      stacklevel=4)
    return {k: v for k, v in options.items() if k in known}


_COMMON = """
Options every method accepts
----------------------------
trace : bool
    Record x, f, the gradient norm and the cumulative evaluation count at the start and after
    every iteration; returned as ``result.trace`` (``result.trace.to_arrays()`` for numpy).
disp : bool
    Print a convergence message at the end.
"""


def _doc(runner: Callable[..., Any]) -> str:
    return inspect.cleandoc(runner.__doc__ or "(no documentation)")


def show_options(solver: str | None = None, method: str | None = None,
                 disp: bool = True) -> str | None:
    """Show the options of the solvers' methods, as `scipy.optimize.show_options`.

    Parameters
    ----------
    solver : {'minimize', 'minimize_scalar'}, optional
        Which solver; all when None.
    method : str, optional
        One method of that solver; all when None.
    disp : bool
        Print the text (and return None) when True, return it when False.
    """
    from ._registry import METHODS, SCALAR_METHODS

    tables: dict[str, dict[str, Callable[..., Any]]] = {
        "minimize": {spec.name: spec.runner for spec in METHODS.values()},
        "minimize_scalar": dict(SCALAR_METHODS),
    }
    if solver is not None and solver.lower() not in tables:
        raise ValueError(f"Unknown solver {solver!r}; use 'minimize' or 'minimize_scalar'.")
    chosen = [solver.lower()] if solver else list(tables)
    parts = []
    for name in chosen:
        table = tables[name]
        if method is not None:
            match = {k: v for k, v in table.items() if k.lower() == method.lower()}
            if not match:
                raise ValueError(f"Unknown method {method!r} for {name}; valid: {', '.join(table)}.")
            table = match
        for meth, runner in table.items():
            body = _doc(runner)
            parts.append(f"{name}, method={meth!r}\n{'=' * 40}\n{body}")
        if name == "minimize":
            parts.append(_COMMON.strip())
    text = "\n\n".join(parts)
    if disp:
        print(text)
        return None
    return text


def method_options(method: str) -> frozenset[str]:
    """Names of the method-specific options `minimize` accepts for ``method``.

    Raises `ValueError` for an unknown method.
    """
    from ._registry import get_method

    return known_options(get_method(method).runner)
