"""What `minimize` does with dict constraints when bounds fix some or all variables.

As scipy: variables fixed by ``lb == ub`` are removed from the problem when finite differences
are needed (the constraint functions then see the full vector again), and a problem whose every
variable is fixed returns at once, successful only if the fixed point satisfies the constraints.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from .constraints import ConstraintFunctions

__all__ = ["constraints_need_fd", "drop_fixed_variables", "fixed_point_result_message"]

FloatArray = npt.NDArray[np.float64]


def constraints_need_fd(constraints: Sequence[dict[str, Any]]) -> bool:
    """Whether any dict constraint lacks a callable ``'jac'`` (finite differences needed)."""
    return any(not callable(con.get("jac")) for con in constraints)


def drop_fixed_variables(constraints: Sequence[dict[str, Any]], fixed: npt.NDArray[np.bool_],
                         values: FloatArray) -> list[dict[str, Any]]:
    """Copies of dict constraints that take only the free variables (``fixed`` put back).

    ``fun`` sees the full vector; ``jac`` gets the full vector and loses the fixed columns.
    """
    def expand(z: Any) -> FloatArray:
        x = np.zeros(fixed.size, dtype=np.result_type(z, float))
        x[fixed], x[~fixed] = values, z
        return x

    def wrap_fun(fun: Callable[..., Any]) -> Callable[..., Any]:
        return lambda z, *a: np.atleast_1d(np.array(fun(expand(z), *a)))

    def wrap_jac(jac: Callable[..., Any]) -> Callable[..., Any]:
        return lambda z, *a: np.atleast_2d(np.array(jac(expand(z), *a)))[..., ~fixed]

    out = []
    for con in constraints:
        new = dict(con)
        new["fun"] = wrap_fun(con["fun"])
        if callable(con.get("jac")):
            new["jac"] = wrap_jac(con["jac"])
        out.append(new)
    return out


def fixed_point_result_message(constraints: Sequence[Any], x: FloatArray
                               ) -> tuple[bool, str]:
    """Success flag and scipy's message when bounds fix every variable at ``x``."""
    if not constraints:
        return True, "All independent variables were fixed by bounds."
    cf = ConstraintFunctions(list(constraints), x)
    e, g = cf.eq(x), cf.ineq(x)
    viol = np.concatenate((np.abs(e), np.maximum(-g, 0.0)))
    if viol.size and np.sum(viol):
        return False, ("All independent variables were fixed by bounds, but the independent "
                       "variables do not satisfy the constraints exactly. (Maximum violation: "
                       f"{np.max(viol)}).")
    return True, ("All independent variables were fixed by bounds at values that satisfy the "
                  "constraints.")
