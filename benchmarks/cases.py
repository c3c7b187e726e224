"""The (method, problem, variant) cases that the solver benchmarks and the counts table cover.

First-order cases run every method that needs at most a gradient on the catalogue of
`tests/problems.py` (analytic gradient and, where the method accepts it, finite differences).
Second-order cases run the methods that need a Hessian (or use one) on
`tests/solvers/problems2.py`, once per Hessian source the method accepts.
"""

from __future__ import annotations

from dataclasses import dataclass

from solvers._registry import METHODS, available_methods
from tests.problems import PROBLEMS

#: Hessian sources per second-order method (scipy's rules: dogleg and trust-exact need `hess`)
SECOND_ORDER_MODES = {
    "Newton-CG": ("hess", "hessp", "none"),
    "dogleg": ("hess",),
    "trust-ncg": ("hess", "hessp"),
    "trust-exact": ("hess",),
    "trust-krylov": ("hess", "hessp"),
}


#: first-order methods also run on the second-order catalogue (issue 4 asks it of TNC)
ALSO_ON_SECOND_ORDER = {"TNC": ("none",)}


@dataclass(frozen=True)
class Case:
    method: str
    problem: str
    analytic_jac: bool

    @property
    def gradient(self) -> str:
        if not METHODS[self.method.lower()].uses_jac:
            return "-"
        return "analytic" if self.analytic_jac else "2-point"


@dataclass(frozen=True)
class SecondOrderCase:
    method: str
    problem: str
    mode: str


def _first_order(spec: object) -> bool:
    requires = getattr(spec, "requires")
    return "hess" not in requires and "hess_or_hessp" not in requires and \
        not getattr(spec, "supports_constraints")


def cases(methods: list[str] | None = None) -> list[Case]:
    """Every implemented first-order method on every catalogue problem it can take."""
    out = []
    for method in methods or available_methods():
        spec = METHODS[method.lower()]
        if not _first_order(spec) or spec.name in SECOND_ORDER_MODES:
            continue
        for name, prob in PROBLEMS.items():
            if prob.bounds is not None and not spec.supports_bounds:
                continue  # the problem needs its bounds (normal_mle: sigma > 0)
            grads = (True, False) if spec.uses_jac and "jac" not in spec.requires else (
                (True,) if spec.uses_jac else (False,))
            out.extend(Case(spec.name, name, g) for g in grads)
    return out


def second_order_cases(methods: list[str] | None = None) -> list[SecondOrderCase]:
    """The second-order methods on the second-order catalogue, per accepted Hessian source."""
    from tests.solvers.problems2 import PROBLEMS2

    wanted = {m.lower() for m in (methods or available_methods())}
    return [SecondOrderCase(method, problem, mode)
            for method, modes in {**SECOND_ORDER_MODES, **ALSO_ON_SECOND_ORDER}.items()
            if method.lower() in wanted
            and method.lower() in METHODS
            for problem in PROBLEMS2 for mode in modes]
