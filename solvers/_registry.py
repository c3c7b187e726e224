"""One `MethodSpec` per `minimize` method: the single source of method facts.

The dispatcher in `_minimize` reads these flags to emit scipy's warnings, map ``tol`` onto the
method's own options, clip ``x0`` into the bounds and choose what to do when a run stops early.
Each spec holds its runner function itself (imported here), so "go to definition" from the table
leads to the method.  `SCALAR_METHODS` does the same for `minimize_scalar`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._result import OptimizeWarning
from .methods.bfgs import minimize_bfgs
from .methods.cg import minimize_cg
from .methods.cobyla import minimize_cobyla
from .methods.cobyqa import minimize_cobyqa
from .methods.lbfgsb import minimize_lbfgsb
from .methods.nelder_mead import minimize_nelder_mead
from .methods.newton_cg import minimize_newton_cg
from .methods.powell import minimize_powell
from .methods.scalar.bounded import minimize_scalar_bounded
from .methods.scalar.brent import minimize_scalar_brent
from .methods.scalar.golden import minimize_scalar_golden
from .methods.slsqp import minimize_slsqp
from .methods.tnc import minimize_tnc
from .methods.trust_constr import minimize_trust_constr
from .methods.trust_region.dogleg import minimize_dogleg
from .methods.trust_region.trust_exact import minimize_trust_exact
from .methods.trust_region.trust_krylov import minimize_trust_krylov
from .methods.trust_region.trust_ncg import minimize_trust_ncg

__all__ = ["MethodSpec", "METHODS", "SCALAR_METHODS", "get_method", "available_methods"]


@dataclass(frozen=True)
class MethodSpec:
    """Facts about one method of `solvers.minimize`.

    ``runner`` is called as ``runner(context, x0, **options)`` and returns an `OptimizeResult`.
    ``stop_status`` maps an early-stop reason (see `_core.stops`) to this method's scipy status
    code.  ``clip_x0`` is ``"silent"`` (clip), ``"warn"`` (clip with an `OptimizeWarning`) or
    None.
    """

    name: str
    runner: Callable[..., Any]
    uses_jac: bool = False
    uses_hess: bool = False
    uses_hessp: bool = False
    supports_bounds: bool = False
    supports_constraints: bool = False
    supports_return_all: bool = True
    tol_keys: tuple[str, ...] = ()
    clip_x0: str | None = None
    remove_fixed: str | None = None  # "fd" (when finite differences are needed) or "always"
    constraint_form: str | None = None  # "old" (dicts) or "new" (constraint objects)
    #: derivatives the user must supply: "jac" (a callable or True), "hess" (a callable),
    #: "hess_or_hessp" (hess of any accepted kind, or hessp)
    requires: tuple[str, ...] = ()
    stop_status: dict[str, int] = field(
        default_factory=lambda: {"callback": 99, "maxfev": 1, "non_finite": 3})
    #: scipy's own message for an early-stop reason, where it is not `MESSAGES`' (COBYLA's 30)
    stop_messages: dict[str, str] = field(default_factory=dict)
    #: ``res.x`` takes the dtype of a floating-point ``x0`` (float32...), as scipy's does
    keeps_x0_dtype: bool = False
    #: the warning scipy emits with ``disp=True`` when the run ends unsuccessfully (maxiter,
    #: maxfev, precision loss...); None: scipy emits none
    disp_warning: type[Warning] | None = None

    @property
    def key(self) -> str:
        return self.name.lower()


METHODS: dict[str, MethodSpec] = {spec.key: spec for spec in (
    MethodSpec("Nelder-Mead", minimize_nelder_mead, supports_bounds=True,
               tol_keys=("xatol", "fatol"), clip_x0="warn", keeps_x0_dtype=True,
               disp_warning=RuntimeWarning),
    MethodSpec("Powell", minimize_powell, supports_bounds=True,
               tol_keys=("xtol", "ftol"), clip_x0="warn", disp_warning=RuntimeWarning),
    MethodSpec("CG", minimize_cg, uses_jac=True, tol_keys=("gtol",),
               disp_warning=OptimizeWarning),
    MethodSpec("BFGS", minimize_bfgs, uses_jac=True, tol_keys=("gtol",),
               disp_warning=OptimizeWarning),
    MethodSpec("Newton-CG", minimize_newton_cg, requires=("jac",),
               uses_jac=True, uses_hess=True,
               uses_hessp=True,
               tol_keys=("xtol",), keeps_x0_dtype=True, disp_warning=OptimizeWarning),
    MethodSpec("L-BFGS-B", minimize_lbfgsb, uses_jac=True, supports_bounds=True,
               supports_return_all=False, tol_keys=("ftol", "gtol"), clip_x0="silent",
               remove_fixed="fd",
               stop_status={"callback": 99, "maxfev": 1, "non_finite": 2}),
    MethodSpec("TNC", minimize_tnc, uses_jac=True, supports_bounds=True,
               supports_return_all=False, tol_keys=("xtol", "ftol", "gtol"), clip_x0="silent",
               remove_fixed="always",
               stop_status={"callback": 99, "maxfev": 3, "non_finite": 4}),
    MethodSpec("COBYLA", minimize_cobyla, supports_bounds=True,
               supports_constraints=True, supports_return_all=False, tol_keys=("tol",),
               constraint_form="old",
               stop_status={"callback": 30, "maxfev": 3, "non_finite": -2},
               stop_messages={"callback": "Return from COBYLA because the callback function "
                                          "requested termination"}),
    MethodSpec("COBYQA", minimize_cobyqa, supports_bounds=True,
               supports_constraints=True, supports_return_all=False,
               tol_keys=("final_tr_radius",), constraint_form="new",
               stop_status={"callback": 3, "maxfev": 5, "non_finite": -3},
               stop_messages={"callback": "The callback requested to stop the optimization "
                                          "procedure"}),
    MethodSpec("SLSQP", minimize_slsqp, uses_jac=True, supports_bounds=True,
               supports_constraints=True,
               supports_return_all=False, tol_keys=("ftol",), clip_x0="silent",
               remove_fixed="fd", constraint_form="old"),
    MethodSpec("trust-constr", minimize_trust_constr, uses_jac=True,
               uses_hess=True, uses_hessp=True, supports_bounds=True, supports_constraints=True,
               tol_keys=("xtol", "gtol", "barrier_tol"), constraint_form="new",
               stop_status={"callback": 3, "maxfev": 0, "non_finite": -1}),
    MethodSpec("dogleg", minimize_dogleg, requires=("jac", "hess"),
               uses_jac=True, uses_hess=True,
               tol_keys=("gtol",), keeps_x0_dtype=True, disp_warning=RuntimeWarning),
    MethodSpec("trust-ncg", minimize_trust_ncg, requires=("jac", "hess_or_hessp"),
               uses_jac=True, uses_hess=True,
               uses_hessp=True, tol_keys=("gtol",), keeps_x0_dtype=True,
               disp_warning=RuntimeWarning),
    MethodSpec("trust-exact", minimize_trust_exact, requires=("jac", "hess"),
               uses_jac=True,
               uses_hess=True, tol_keys=("gtol",), keeps_x0_dtype=True,
               disp_warning=RuntimeWarning),
    MethodSpec("trust-krylov", minimize_trust_krylov, requires=("jac", "hess_or_hessp"),
               uses_jac=True,
               uses_hess=True, uses_hessp=True, tol_keys=("gtol",),
               disp_warning=RuntimeWarning),
)}


def available_methods() -> list[str]:
    """Names of the `minimize` methods."""
    return [spec.name for spec in METHODS.values()]


def get_method(method: str) -> MethodSpec:
    """Return the spec for a method name (case-insensitive).

    Raises
    ------
    ValueError
        For a name that is not a `minimize` method.
    """
    spec = METHODS.get(method.lower())
    if spec is None:
        names = ", ".join(s.name for s in METHODS.values())
        raise ValueError(f"Unknown solver {method!r}; valid methods are: {names}.")
    return spec


#: the methods of `minimize_scalar`: lower-case name -> runner
SCALAR_METHODS: dict[str, Callable[..., Any]] = {
    "brent": minimize_scalar_brent,
    "golden": minimize_scalar_golden,
    "bounded": minimize_scalar_bounded,
}
