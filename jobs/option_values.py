"""Solver option values checked when the spec is parsed, before anything runs.

The type of each option comes from the solver core's own metadata: a method's options are the
keyword-only parameters of its runner (`solvers.get_method(name).runner`, the same source as
`solvers.method_options`), annotated ``int``, ``float``, ``bool`` or ``str`` (``| None``:
the default only, a TOML spec cannot say None).  The ranges are a table here, by option name
(`RANGES`): counts are positive, tolerances non-negative, steps and trust radii positive,
Wolfe constants in (0, 1).  A runner whose default lies outside the range (TNC's ``ftol = -1``
meaning "the default") also accepts its own default value.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import SpecError

__all__ = ["OptionRule", "RANGES", "option_rules", "check_option_value"]


@dataclass(frozen=True)
class OptionRule:
    """What a value of one option must be: its kind (``int``, ``float``, ``bool``, ``str`` or
    ``any``), an allowed range and the runner's default (always allowed)."""

    kind: str
    check: Callable[[float], bool] | None = None
    range_text: str = ""
    default: Any = None


def _positive(v: float) -> bool:
    return v > 0


def _non_negative(v: float) -> bool:
    return v >= 0


def _unit_open(v: float) -> bool:
    return 0 < v < 1


#: option name -> (predicate on the number, how the message says it)
RANGES: dict[str, tuple[Callable[[float], bool], str]] = {
    **{name: (_positive, "a positive integer") for name in
       ("maxiter", "maxfun", "maxfev", "maxcor", "maxls")},
    **{name: (_non_negative, "a non-negative number") for name in
       ("ftol", "gtol", "xtol", "fatol", "xatol", "tol", "barrier_tol", "feasibility_tol",
        "catol", "xrtol", "accuracy")},
    **{name: (_positive, "a positive number") for name in
       ("eps", "rhobeg", "initial_tr_radius", "initial_trust_radius", "max_trust_radius",
        "final_tr_radius", "initial_constr_penalty", "initial_barrier_parameter",
        "initial_barrier_tolerance")},
    **{name: (_unit_open, "a number in (0, 1)") for name in ("c1", "c2")},
}


def _kind(annotation: Any) -> str:
    text = str(annotation).replace(" ", "")
    parts = {p for p in text.split("|") if p != "None"}
    for kind in ("bool", "int", "float", "str"):
        if parts == {kind}:
            return kind
    if "float" in parts:  # float | FloatArray: a TOML spec can give only the scalar
        return "float"
    return "any"


@functools.cache
def option_rules(method: str) -> dict[str, OptionRule]:
    """The rule of each option of ``method`` (its canonical name, see `solvers.get_method`)."""
    from solvers import get_method

    runner = get_method(method).runner
    rules = {}
    for p in inspect.signature(runner).parameters.values():
        if p.kind is not inspect.Parameter.KEYWORD_ONLY:
            continue
        check, text = RANGES.get(p.name, (None, ""))
        rules[p.name] = OptionRule(kind=_kind(p.annotation), check=check, range_text=text,
                                   default=p.default)
    return rules


def _type_ok(kind: str, value: object) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    return True


_KIND_TEXT = {"bool": "true or false", "int": "an integer", "float": "a number",
              "str": "a string"}


def check_option_value(method: str, name: str, value: object) -> None:
    """Raise `SpecError` naming ``[solver].options.<name>`` when ``method`` would reject
    ``value`` (wrong type, or out of the option's range)."""
    rule = option_rules(method).get(name)
    if rule is None:
        return  # unknown names are refused by the parser, with the list of known ones
    field = f"[solver].options.{name}"
    if not _type_ok(rule.kind, value):
        raise SpecError(field, f"must be {rule.range_text or _KIND_TEXT[rule.kind]} for "
                        f"{method}, got {value!r}")
    if rule.check is None or not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if value == rule.default:
        return
    if not math.isfinite(value) or not rule.check(value):
        raise SpecError(field, f"must be {rule.range_text} for {method}, got {value!r}")
