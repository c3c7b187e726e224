"""The problem as COBYLA sees it: free variables, linear bound rows, constraint values ``<= 0``.

Variables fixed by their bounds (``lb == ub`` up to rounding) are removed, as the PRIMA
implementation scipy 1.17 uses removes them.  The finite bounds of the free variables become
linear constraints with exact gradients (rows ``lb - z <= 0`` then ``z - ub <= 0``), listed
first; the user's constraints follow in violation form: ``-e`` and ``e`` for each equality
residual ``e``, ``-g`` for each inequality value ``g`` (scipy's ``g >= 0`` convention).  NaN
constraint values count as a huge violation and values are clipped to ``[-1e30, 1e30]`` (PRIMA's
moderated extreme barrier); the objective itself is evaluated by the run's `ScalarObjective`,
which stops the run on NaN or infinity.

Unlike scipy 1.17, every point evaluated here lies inside the bounds: trial points are clipped
into the box (see `CobylaProblem.clip`), so an objective undefined outside its bounds is never
called there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from ..._core.constraints import ConstraintFunctions
from ..._core.objective import ScalarObjective

__all__ = ["CobylaProblem", "FUNCMAX", "CONSTRMAX"]

FloatArray = npt.NDArray[np.float64]

FUNCMAX = 1e30
CONSTRMAX = 1e30
_EPS = float(np.finfo(float).eps)


def fixed_mask(lb: FloatArray, ub: FloatArray) -> npt.NDArray[np.bool_]:
    """Variables whose bounds coincide up to a rounding tolerance scaled by the bounds."""
    finite = np.concatenate((lb[np.isfinite(lb)], ub[np.isfinite(ub)]))
    weight = max(1.0, float(np.max(np.abs(finite), initial=1.0)))
    tol = 10.0 * _EPS * max(lb.size, 1) * weight
    return (lb <= ub) & (np.abs(lb - ub) < tol)


def as_constraint_list(constraints: Any) -> list[Any]:
    """The constraints as a list (None, one dict/object, or a sequence)."""
    if constraints is None:
        return []
    if isinstance(constraints, dict) or not hasattr(constraints, "__iter__"):
        return [constraints]
    return list(constraints)


class CobylaProblem:
    """Objective and constraints of one COBYLA run over the free variables.

    Parameters
    ----------
    objective : ScalarObjective
        The run's counted objective (takes the full vector).
    constraints : list
        The user's constraints (dicts, or constraint objects converted by `ConstraintFunctions`).
    x0 : ndarray, shape (n,)
        Starting point (full vector).
    lb, ub : ndarray, shape (n,) or None
        Bounds (None: unbounded).
    """

    def __init__(self, objective: ScalarObjective, constraints: list[Any], x0: FloatArray,
                 lb: FloatArray | None, ub: FloatArray | None) -> None:
        n = x0.size
        self.objective = objective
        self.lb = np.full(n, -np.inf) if lb is None else np.asarray(lb, dtype=float)
        self.ub = np.full(n, np.inf) if ub is None else np.asarray(ub, dtype=float)
        self.has_bounds = bool(np.any(np.isfinite(self.lb)) or np.any(np.isfinite(self.ub)))
        self.fixed = fixed_mask(self.lb, self.ub)
        self.fixed_values = np.clip(0.5 * (self.lb[self.fixed] + self.ub[self.fixed]),
                                    self.lb[self.fixed], self.ub[self.fixed])
        free = ~self.fixed
        self.free_lb, self.free_ub = self.lb[free], self.ub[free]
        self.x0 = np.clip(x0, self.lb, self.ub)
        self.x0[self.fixed] = self.fixed_values
        self.cons = ConstraintFunctions(constraints, self.x0) if constraints else None
        self.a_lin, self.b_lin = self._bound_rows()

    @property
    def n_free(self) -> int:
        return int(np.count_nonzero(~self.fixed))

    @property
    def m_lin(self) -> int:
        return self.a_lin.shape[1]

    @property
    def has_constraints(self) -> bool:
        return self.cons is not None

    def _bound_rows(self) -> tuple[FloatArray, FloatArray]:
        """Exact linear constraints ``a.T @ z - b <= 0`` for the finite bounds: (n, m), (m,)."""
        eye = np.eye(self.n_free)
        low = np.isfinite(self.free_lb)
        high = np.isfinite(self.free_ub)
        a = np.hstack((-eye[:, low], eye[:, high]))
        b = np.concatenate((-self.free_lb[low], self.free_ub[high]))
        return a, b

    def expand(self, z: FloatArray) -> FloatArray:
        """The full vector for free variables ``z``."""
        if not self.fixed.any():
            return np.array(z, dtype=float)
        x = np.empty(self.fixed.size)
        x[self.fixed] = self.fixed_values
        x[~self.fixed] = z
        return x

    def clip(self, z: FloatArray) -> FloatArray:
        """``z`` moved into the bounds of the free variables."""
        if not self.has_bounds:
            return z
        return np.clip(z, self.free_lb, self.free_ub)

    def inside(self, z: FloatArray) -> bool:
        return bool(np.all(z >= self.free_lb) and np.all(z <= self.free_ub))

    def constraint_values(self, x: FloatArray) -> FloatArray:
        """User constraints at the full vector ``x`` in violation form (``<= 0`` feasible)."""
        if self.cons is None:
            return np.zeros(0)
        e = self.cons.eq(x) if self.cons.n_eq else np.zeros(0)
        g = self.cons.ineq(x) if self.cons.n_ineq else np.zeros(0)
        values = np.concatenate((-e, e, -g))
        values = np.nan_to_num(values, nan=CONSTRMAX, posinf=CONSTRMAX, neginf=-CONSTRMAX)
        return np.clip(values, -CONSTRMAX, CONSTRMAX)

    def evaluate(self, z: FloatArray) -> tuple[float, FloatArray]:
        """Objective (counted; at most ``FUNCMAX``) and all constraint values at ``z``."""
        z = self.clip(z)  # a vertex rebuilt as pole + displacement may sit an ulp outside
        x = self.expand(z)
        f = min(self.objective.evaluate(x), FUNCMAX)
        linear = self.a_lin.T @ z - self.b_lin
        return f, np.concatenate((linear, self.constraint_values(x)))

    def violation_of(self, constr: FloatArray) -> float:
        return max(0.0, float(np.max(constr, initial=0.0)))

    def initial_steps(self, z0: FloatArray, rhobeg: float) -> FloatArray:
        """Signed lengths of the initial simplex edges along each axis from ``z0``.

        ``+rhobeg`` as in PRIMA, unless that leaves the box: then ``-rhobeg``, or, when both
        sides are nearer than ``rhobeg``, all the room on the roomier side.
        """
        up = self.free_ub - z0
        down = z0 - self.free_lb
        steps = np.full(z0.size, float(rhobeg))
        no_up = up < rhobeg
        steps[no_up & (down >= rhobeg)] = -rhobeg
        neither = no_up & (down < rhobeg)
        steps[neither] = np.where(up[neither] >= down[neither], up[neither], -down[neither])
        return steps
