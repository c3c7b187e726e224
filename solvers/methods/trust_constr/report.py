"""trust-constr's progress tables (``verbose`` 2 and 3) and termination report (``verbose`` 1).

Columns as scipy prints them: iteration, objective evaluations, cumulative CG iterations,
objective, trust radius, optimality, constraint violation; ``verbose=3`` adds the penalty (and
the barrier parameter for the interior point method) and the CG stop condition.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Report"]

_BASIC = [("niter", 7, "^7"), ("f evals", 7, "^7"), ("CG iter", 7, "^7"),
          ("obj func", 13, "^+13.4e"), ("tr radius", 10, "^10.2e"), ("opt", 10, "^10.2e"),
          ("c viol", 10, "^10.2e")]
_PENALTY = ("penalty", 10, "^10.2e")
_BARRIER = ("barrier param", 13, "^13.2e")
_CG_STOP = ("CG stop", 7, "^7")
_KEYS = {"niter": "nit", "f evals": "nfev", "CG iter": "cg_niter", "obj func": "fun",
         "tr radius": "tr_radius", "opt": "optimality", "c viol": "constr_violation",
         "penalty": "constr_penalty", "barrier param": "barrier_parameter",
         "CG stop": "cg_stop_cond"}


class Report:
    """Prints the table for ``verbose`` (0: nothing) and ``method`` of trust-constr."""

    def __init__(self, verbose: int, method: str) -> None:
        self.verbose = verbose
        columns = list(_BASIC)
        if verbose > 2:
            columns.append(_PENALTY)
            if method == "tr_interior_point":
                columns.append(_BARRIER)
            columns.append(_CG_STOP)
        self.columns = columns

    def header(self) -> None:
        if self.verbose >= 2:
            line = "|" + "|".join(f"{name:^{width}}" for name, width, _ in self.columns) + "|"
            print(line)
            print("|" + "|".join("-" * width for _, width, _ in self.columns) + "|")

    def row(self, state: Any) -> None:
        if self.verbose >= 2:
            cells = [format(state[_KEYS[name]], fmt) for name, _, fmt in self.columns]
            print("|" + "|".join(cells) + "|")

    def footer(self, result: Any) -> None:
        if self.verbose >= 2:
            print()
        if self.verbose >= 1:
            print(result.message)
            print(f"Number of iterations: {result.nit}, "
                  f"function evaluations: {result.nfev}, "
                  f"CG iterations: {result.cg_niter}, "
                  f"optimality: {result.optimality:.2e}, "
                  f"constraint violation: {result.constr_violation:.2e}, "
                  f"execution time: {result.execution_time:4.2} s.")
