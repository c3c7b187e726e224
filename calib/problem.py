"""The calibration `Problem`: an objective bound to one dataset, its parameters and solver settings.

The solver works in *internal* space (the natural log of every ``log=True`` parameter, the value
itself otherwise); the user's objective always receives natural units.  A `Problem` is frozen and
pickles by reference to its objective (a module-level function), so Dask can ship it once per
worker.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from calib.constraints import ConstraintSpec, check_constraints
from calib.errors import ProblemError
from calib.parameters import Parameter
from solvers import Bounds
from solvers import MethodSpec, get_method

if TYPE_CHECKING:
    from calib.datasets import Dataset

__all__ = ["Problem", "constrained_methods"]

FloatArray = npt.NDArray[np.float64]

#: exp of anything below this is finite, so no overflow can occur (nor need silencing)
_EXP_SAFE = 709.0


@dataclass(frozen=True)
class Problem:
    """A calibration problem: what to minimise, over which parameters, on which data, and how.

    Attributes
    ----------
    objective : callable
        ``objective(params, data) -> float`` with ``params`` of shape (p,) in natural units and
        ``data`` the dataset's ``(n_obs, n_columns)`` values; the value is minimised.
    parameters : tuple of Parameter
        The p parameters in the order the objective reads them (a sequence is converted).
    dataset : Dataset
        The data the objective is bound to (``name`` and ``values`` are used).
    method : str
        A `solvers.minimize` method name (case-insensitive; stored with scipy's spelling).
    options : mapping
        Solver options passed to `solvers.minimize` (copied to a plain dict).
    trace : bool
        Whether to record per-iteration traces.
    objective_batch : callable, optional
        ``objective_batch(params (k, p), data) -> (k,)``, the vectorised twin of ``objective``.
    gradient : callable, optional
        ``gradient(params (p,), data) -> (p,)``: the objective's gradient in natural units.
        Given, every solver method that takes ``jac`` gets it (`internal_gradient`: chain rule
        through the log transform) instead of finite differences.
    gradient_batch : callable, optional
        ``gradient_batch(params (k, p), data) -> (k, p)``, the vectorised twin of ``gradient``
        (the batched path uses it; without it, the batched path calls ``gradient`` per row).
    residuals : callable, optional
        ``residuals(params (p,), data) -> (m,)``: a least-squares problem's residual vector
        (``objective`` is then its sum of squares, see `calib.residuals`).  Needed by the
        least-squares methods ``'trf'``, ``'dogbox'``, ``'lm'`` (`solvers.least_squares`).
    residuals_batch : callable, optional
        ``residuals_batch(params (k, p), data) -> (k, m)``, the vectorised twin of ``residuals``.
    residuals_jacobian : callable, optional
        ``residuals_jacobian(params (p,), data) -> (m, p)``: d residuals / d params, natural
        units (without it the least-squares methods difference the residuals).
    constraints : tuple of LinearConstraintSpec / NonlinearConstraintSpec
        Constraints on the parameters in natural units (see `calib.constraints`); default none.
        Plain data: the solver's callables are built per run by
        `calib.constraints.solver_constraints`.

    Raises
    ------
    ProblemError
        For a non-callable objective, no parameters, a non-`Parameter` entry, duplicate
        parameter names, a dataset without ``name``/``values``, an unknown or unavailable
        method, options that are not a mapping with string keys, constraints that are not
        constraint specs (or a linear one with the wrong number of coefficients), or
        constraints with a method that cannot handle them.
    """

    objective: Callable[[FloatArray, FloatArray], float]
    parameters: tuple[Parameter, ...]
    dataset: Dataset
    method: str = "L-BFGS-B"
    options: Mapping[str, Any] = field(default_factory=dict)
    trace: bool = False
    objective_batch: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    constraints: tuple[ConstraintSpec, ...] = ()
    gradient: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    gradient_batch: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    residuals: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    residuals_batch: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    residuals_jacobian: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    # derived once in __post_init__ (read-only arrays: the objective path uses them per call)
    _box: _Box = field(init=False, repr=False, compare=False)
    _method: MethodSpec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.objective):
            raise ProblemError(f"objective must be callable, got {self.objective!r}")
        if self.objective_batch is not None and not callable(self.objective_batch):
            raise ProblemError(f"objective_batch must be callable, got {self.objective_batch!r}")
        for name in ("gradient", "gradient_batch"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise ProblemError(f"{name} must be callable, got {value!r}")
        if self.gradient_batch is not None and self.gradient is None:
            raise ProblemError("gradient_batch needs gradient (its one-point twin) as well")
        object.__setattr__(self, "parameters", _parse_parameters(self.parameters))
        object.__setattr__(self, "_box", _Box.of(self.parameters))
        for attribute in ("name", "values"):
            if not hasattr(self.dataset, attribute):
                raise ProblemError(f"dataset must have a {attribute!r} attribute, "
                                   f"got {type(self.dataset).__name__}")
        _check_residuals(self)
        method = _method_spec(self.method, least_squares=self.residuals is not None)
        object.__setattr__(self, "method", method.name)
        object.__setattr__(self, "_method", method)
        object.__setattr__(self, "options", _parse_options(self.options))
        object.__setattr__(self, "trace", bool(self.trace))
        constraints = check_constraints(self.constraints, len(self.parameters))
        if constraints and not self.method_spec.supports_constraints:
            raise ProblemError(f"solver method {self.method!r} cannot handle constraints; "
                               f"use one that can: {', '.join(constrained_methods())}")
        object.__setattr__(self, "constraints", constraints)

    # -- parameters ----------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in order."""
        return tuple(par.name for par in self.parameters)

    @property
    def n_parameters(self) -> int:
        """Number of parameters p."""
        return len(self.parameters)

    @property
    def lower(self) -> FloatArray:
        """Lower bounds in natural units, shape (p,) (read-only)."""
        return self._box.lower

    @property
    def upper(self) -> FloatArray:
        """Upper bounds in natural units, shape (p,) (read-only)."""
        return self._box.upper

    @property
    def log_mask(self) -> npt.NDArray[np.bool_]:
        """True for the parameters the solver sees in log space, shape (p,) (read-only)."""
        return self._box.log_mask

    @property
    def internal_lower(self) -> FloatArray:
        """Lower bounds in internal units, shape (p,) (read-only)."""
        return self._box.internal_lower

    @property
    def internal_upper(self) -> FloatArray:
        """Upper bounds in internal units, shape (p,) (read-only)."""
        return self._box.internal_upper

    @property
    def internal_bounds(self) -> Bounds:
        """The box in internal units as a `solvers.Bounds`."""
        return Bounds(self.internal_lower, self.internal_upper)

    @property
    def method_spec(self) -> MethodSpec:
        """The solver registry's facts about ``method``."""
        return self._method

    # -- transforms ----------------------------------------------------------------------------
    def to_internal(self, x: npt.ArrayLike) -> FloatArray:
        """Map natural-unit parameter vector(s) ``x`` of shape (..., p) to internal units."""
        arr = np.array(x, dtype=np.float64)
        if self._box.any_log:
            mask = self._box.log_mask
            with np.errstate(divide="ignore", invalid="ignore"):
                arr[..., mask] = np.log(arr[..., mask])
        return arr

    def to_natural(self, z: npt.ArrayLike) -> FloatArray:
        """Map internal-unit parameter vector(s) ``z`` of shape (..., p) to natural units."""
        arr = np.array(z, dtype=np.float64)
        if self._box.any_log:
            mask = self._box.log_mask
            if arr.ndim == 1 and max(arr.tolist(), default=0.0) < _EXP_SAFE:
                np.exp(arr, out=arr, where=mask)  # the solver's hot path: cannot overflow
            else:
                with np.errstate(over="ignore"):
                    np.exp(arr, out=arr, where=mask)
        return arr

    # -- objective -----------------------------------------------------------------------------
    def natural_objective(self, x: npt.ArrayLike) -> float:
        """The objective at natural-unit parameters ``x`` (shape (p,)) on this dataset."""
        return self.objective(np.asarray(x, dtype=np.float64), self.dataset.values)

    def internal_objective(self, z: npt.ArrayLike) -> float:
        """What the solver minimises: the objective at internal-unit parameters ``z`` (p,)."""
        return self.objective(self.to_natural(z), self.dataset.values)

    def internal_gradient(self, z: npt.ArrayLike) -> FloatArray:
        """Gradient of `internal_objective` at ``z`` (p,): the user's natural-unit gradient times
        ``d x / d z`` (``x`` for a log-scale parameter, 1 otherwise).

        Raises
        ------
        ProblemError
            When the problem has no ``gradient``.
        """
        if self.gradient is None:
            raise ProblemError("this problem has no gradient")
        x = self.to_natural(z)
        grad = np.array(self.gradient(x, self.dataset.values), dtype=np.float64)
        return self._chain(grad, x)

    def internal_gradient_batch(self, z: npt.ArrayLike) -> FloatArray:
        """Gradients of `internal_objective` at the rows of ``z`` (k, p), shape (k, p): through
        ``gradient_batch``, or ``gradient`` row by row without it.

        Raises
        ------
        ProblemError
            When the problem has no ``gradient``.
        """
        if self.gradient is None:
            raise ProblemError("this problem has no gradient")
        x = self.to_natural(z)
        if self.gradient_batch is not None:
            grad = np.array(self.gradient_batch(x, self.dataset.values), dtype=np.float64)
        else:
            grad = np.array([np.asarray(self.gradient(row, self.dataset.values), dtype=np.float64)
                             for row in x], dtype=np.float64).reshape(x.shape)
        return self._chain(grad, x)

    def _chain(self, grad: FloatArray, x: FloatArray) -> FloatArray:
        if self._box.any_log and grad.shape == x.shape:
            mask = self._box.log_mask
            grad[..., mask] *= x[..., mask]
        return grad


@dataclass(frozen=True)
class _Box:
    """A problem's bounds and log mask as read-only arrays, shape (p,) each."""

    lower: FloatArray
    upper: FloatArray
    internal_lower: FloatArray
    internal_upper: FloatArray
    log_mask: npt.NDArray[np.bool_]
    any_log: bool

    @classmethod
    def of(cls, parameters: Sequence[Parameter]) -> _Box:
        def frozen(values: list[Any], dtype: type) -> Any:
            arr: npt.NDArray[Any] = np.array(values, dtype=dtype)
            arr.setflags(write=False)
            return arr

        mask = frozen([par.log for par in parameters], bool)
        return cls(lower=frozen([par.lower for par in parameters], np.float64),
                   upper=frozen([par.upper for par in parameters], np.float64),
                   internal_lower=frozen([par.internal_lower for par in parameters], np.float64),
                   internal_upper=frozen([par.internal_upper for par in parameters], np.float64),
                   log_mask=mask, any_log=bool(mask.any()))


def constrained_methods() -> list[str]:
    """Names of the available solver methods that take constraints (SLSQP first)."""
    from solvers import available_methods

    names = [name for name in available_methods() if get_method(name).supports_constraints]
    return sorted(names, key=lambda name: (name != "SLSQP", name))


def _parse_parameters(parameters: object) -> tuple[Parameter, ...]:
    if isinstance(parameters, (str, bytes)) or not isinstance(parameters, Sequence):
        raise ProblemError(f"parameters must be a sequence of Parameter, got {parameters!r}")
    params = tuple(parameters)
    if not params:
        raise ProblemError("a problem needs at least one parameter, got none")
    for par in params:
        if not isinstance(par, Parameter):
            raise ProblemError(f"parameters must be Parameter instances, got {par!r}")
    names = [par.name for par in params]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ProblemError(f"duplicate parameter names: {', '.join(map(repr, duplicates))}")
    return params


def _check_residuals(problem: Problem) -> None:
    for name in ("residuals", "residuals_batch", "residuals_jacobian"):
        value = getattr(problem, name)
        if value is not None and not callable(value):
            raise ProblemError(f"{name} must be callable, got {value!r}")
    if problem.residuals is None and (problem.residuals_batch is not None
                                      or problem.residuals_jacobian is not None):
        raise ProblemError("residuals_batch and residuals_jacobian need residuals as well")


def _method_spec(method: object, *, least_squares: bool = False) -> MethodSpec:
    """The method's record; a least-squares method (`calib.residuals`) only with residuals."""
    from calib.residuals import is_least_squares_method, least_squares_method_spec

    if not isinstance(method, str):
        raise ProblemError(f"solver method must be a string, got {method!r}")
    if is_least_squares_method(method):
        if not least_squares:
            raise ProblemError(f"solver method {method!r} is a least-squares method: it needs "
                               "residuals (a residual model), not only an objective")
        return least_squares_method_spec(method)
    try:
        return get_method(method)
    except (ValueError, NotImplementedError) as exc:
        raise ProblemError(str(exc)) from None


def _parse_options(options: object) -> dict[str, Any]:
    if not isinstance(options, Mapping):
        raise ProblemError(f"solver options must be a mapping, got {options!r}")
    bad = [key for key in options if not isinstance(key, str)]
    if bad:
        raise ProblemError(f"solver option names must be strings, got {bad!r}")
    if "trace" in options:
        raise ProblemError("set tracing with Problem(trace=...), not in the solver options")
    return dict(options)
