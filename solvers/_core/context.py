"""What a method runner receives besides ``x0`` and its options: the problem as given.

`RunContext` holds the user's ``fun``/``args``/``jac``/``hess``/``hessp``, the standardized
bounds and constraints, and the `Iterations` monitor.  A runner asks it for its
`ScalarObjective` (with the method's finite-difference step and evaluation budget), so that the
dispatcher can still read the counts and the best point when the run stops early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bounds import Bounds
from .callback import Iterations
from .objective import ScalarObjective

__all__ = ["RunContext"]


@dataclass
class RunContext:
    """The problem handed to a method runner (see module docstring)."""

    fun: Callable[..., Any]
    args: tuple[Any, ...] = ()
    jac: Any = None
    hess: Any = None
    hessp: Any = None
    bounds: Bounds | None = None
    constraints: Any = ()
    iterations: Iterations = field(default_factory=Iterations)
    objective: ScalarObjective | None = None

    def make_objective(self, *, eps: Any = None, rel_step: Any = None,
                       max_nfev: int | None = None, use_jac: bool = True) -> ScalarObjective:
        """Build (and remember) the counted objective for this run.

        ``eps`` is the absolute finite-difference step used when ``jac`` is None, ``rel_step``
        the relative step of a named scheme; ``use_jac=False`` ignores ``jac`` (derivative-free).
        """
        lb = ub = None
        if self.bounds is not None:
            lb, ub = self.bounds.lb, self.bounds.ub
        jac = self.jac if use_jac else None
        if jac is True and not use_jac:  # pragma: no cover - guarded above
            jac = None
        fun = self.fun
        if not use_jac and self.jac is True:
            user = self.fun

            def fun(x: Any, *args: Any) -> Any:  # the value part of a (f, g) pair
                return user(x, *args)[0]
        obj = ScalarObjective(fun, self.args, jac, eps=eps, rel_step=rel_step, lb=lb, ub=ub,
                              max_nfev=max_nfev)
        self.objective = obj
        self.iterations.nfev = lambda: obj.nfev
        return obj

    @property
    def lower(self) -> np.ndarray | None:
        return None if self.bounds is None else self.bounds.lb

    @property
    def upper(self) -> np.ndarray | None:
        return None if self.bounds is None else self.bounds.ub
