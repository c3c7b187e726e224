"""Spec parsing for residual (least-squares) models and the least-squares solver methods.

``[model] residuals = "module:function"`` (with ``residuals_vectorized`` and
``residuals_jacobian``) replaces ``objective``; the model's kind is then ``'sse'`` (a declared
``kind = "nll"`` is refused).  ``[solver] method = "trf" | "dogbox" | "lm"`` runs
`solvers.least_squares` and needs a residual model (a user ``residuals`` or a built-in
least-squares model, ``linear`` or ``sinusoid``); its options are `calib.residuals`'
`LEAST_SQUARES_OPTIONS`.  Each function raises `SpecError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from calib.residuals import (ResidualCallables, check_least_squares_option,
                             is_least_squares_method)

from .errors import SpecError
from .spec import ModelSpec, OptionValue
from .spec_fields import parse_string, show

__all__ = ["RESIDUAL_KEYS", "parse_residual_model", "parse_least_squares_options",
           "check_no_residual_keys", "residual_callables",
           "check_method_fits_model"]

#: the [model] keys of a residual model
RESIDUAL_KEYS = ("residuals", "residuals_vectorized", "residuals_jacobian")
_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")
_PATH_KIND = "an import path 'package.module:function'"
#: [model] keys that belong to an objective model, with the residual model's counterpart
_OBJECTIVE_ONLY = {"objective": "residuals", "builtin": "residuals",
                   "vectorized": "residuals_vectorized", "gradient": "residuals_jacobian",
                   "gradient_vectorized": "residuals_jacobian"}


def parse_residual_model(table: Mapping[str, Any], kind: str | None) -> ModelSpec:
    """A ``[model]`` table holding ``residuals`` (see the module docstring)."""
    for key, instead in _OBJECTIVE_ONLY.items():
        if key in table:
            where = "[model]" if key in ("objective", "builtin") else f"[model].{key}"
            raise SpecError(where, f"cannot be combined with [model].residuals (give exactly "
                            f"one of 'builtin', 'objective' and 'residuals'; with residuals "
                            f"use '{instead}')" if where == "[model]" else
                            f"is for an objective; a residual model takes [model].{instead}")
    if kind is not None and kind != "sse":
        raise SpecError("[model].kind", f"a residual model is 'sse' (its objective is the sum "
                        f"of squares of the residuals); drop 'kind' or use 'sse', got {kind!r}")
    paths = {key: parse_string(table[key], f"[model].{key}", pattern=_PATH, what=_PATH_KIND)
             for key in RESIDUAL_KEYS if key in table}
    return ModelSpec(**paths)


def check_no_residual_keys(table: Mapping[str, Any]) -> None:
    """`SpecError` for ``residuals_vectorized``/``residuals_jacobian`` without ``residuals``."""
    for key in RESIDUAL_KEYS[1:]:
        if key in table:
            raise SpecError(f"[model].{key}", "needs [model].residuals (the residual function "
                            "'package.module:function') as well")


def parse_least_squares_options(table: Mapping[str, Any], method: str
                                ) -> tuple[tuple[str, OptionValue], ...]:
    """``[solver].options`` of a least-squares ``method``, in the order written."""
    out = []
    for name, value in table.items():
        problem = check_least_squares_option(name, value)
        if problem is not None:
            raise SpecError(f"[solver].options.{name}", problem.replace(
                "the least-squares methods", f"{method} (solvers.least_squares)"))
        out.append((name, value))
    return tuple(out)


def check_method_fits_model(method: str, model: ModelSpec, constrained: bool) -> None:
    """`SpecError` for a least-squares method without a residual model or with constraints."""
    if not is_least_squares_method(method):
        return
    if constrained:
        raise SpecError("[solver].method", f"{method!r} (least squares) cannot handle "
                        "[[constraints]]; use SLSQP or trust-constr on the sum of squares")
    if not model.has_residuals:
        what = (f"the built-in model {model.builtin!r} is not a least-squares model"
                if model.builtin is not None else "the model gives an objective, not residuals")
        raise SpecError("[solver].method", f"{method!r} is a least-squares method and needs "
                        f"residuals, but {what}: give [model].residuals = "
                        f"'package.module:function', or a minimize method such as L-BFGS-B "
                        f"(got {show(method)})")


def residual_callables(model: ModelSpec) -> ResidualCallables | None:
    """The residual callables of ``model`` (loaded, full parameter vector), or None for a
    model without residuals."""
    from calib.models import get_model
    from calib.objectives import load_objective

    if model.builtin is not None:
        builtin = get_model(model.builtin)
        if builtin.residuals is None:
            return None
        return ResidualCallables(builtin.residuals, builtin.residuals_batch)
    if model.residuals is None:
        return None
    return ResidualCallables(
        load_objective(model.residuals),
        *(load_objective(path) if path else None
          for path in (model.residuals_vectorized, model.residuals_jacobian)))
