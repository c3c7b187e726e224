"""The trust-region loop shared by ``dogleg``, ``trust-ncg``, ``trust-exact`` and ``trust-krylov``.

As scipy's ``_minimize_trust_region`` (scipy 1.17): at the current point ``x`` a quadratic model
``m(p) = f + g.p + p.H.p / 2`` is minimised approximately inside ``||p|| <= radius`` by the
method's *subproblem solver* (the only part that differs between the four methods).  The step is
judged by ``rho = (f(x) - f(x + p)) / (m(0) - m(p))``:

- ``rho < 0.25``: the radius shrinks to a quarter;
- ``rho > 0.75`` and the step reached the boundary: the radius doubles (at most
  ``max_trust_radius``);
- ``rho > eta``: the step is accepted.

Every trial counts as an iteration (accepted or not) and is reported to the callback.  The run
ends successfully when ``||g|| < gtol``; status 1 after ``maxiter`` iterations, 2 when the model
predicts no decrease, 3 when the subproblem solver hits a linear-algebra error (e.g. ``dogleg``
on a Hessian that is not positive definite).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ..._core.context import RunContext
from ..._core.hessian import HessianSource, make_hessian
from ..._result import MESSAGES, OptimizeResult

__all__ = ["QuadraticModel", "SubproblemSolver", "TRUST_REGION_MESSAGES", "run_trust_region",
           "require_jacobian"]

FloatArray = npt.NDArray[np.float64]

#: status code -> message, as scipy's trust-region methods word them
TRUST_REGION_MESSAGES = (
    MESSAGES["success"],
    MESSAGES["maxiter"],
    "A bad approximation caused failure to predict improvement.",
    "A linalg error occurred, such as a non-psd Hessian.",
)

_SHRINK_BELOW, _GROW_ABOVE = 0.25, 0.75


class SubproblemSolver(Protocol):
    """Approximately minimises one point's model inside a ball (one object per point, so that
    it may reuse work when the same point is solved again with a smaller radius)."""

    def solve(self, radius: float) -> tuple[FloatArray, bool]:
        """Return the step ``p`` (shape (n,)) and whether ``||p|| = radius`` (on the boundary).

        Raises `numpy.linalg.LinAlgError` when the model cannot be handled (run status 3).
        """
        ...


class QuadraticModel:
    """The quadratic model at one point: value, gradient and curvature, each evaluated once.

    Parameters
    ----------
    x : ndarray, shape (n,)
        The point.
    f : float
        ``fun(x)``.
    obj : ScalarObjective or a proxy of it (`HessianSource.watch`)
        Gives the gradient (evaluated on first use, then kept).
    hessian : HessianSource
        Gives the Hessian or Hessian-vector products at ``x``.
    dense : bool
        Keep the Hessian as a dense (n, n) array (``dogleg``, ``trust-exact``).
    matrix_products : bool
        Form products with the Hessian kept here (evaluated once per point) rather than asking
        ``hessian.hessp`` each time (user ``hessp``, finite differences, update strategies).
    """

    def __init__(self, x: FloatArray, f: float, obj: Any, hessian: HessianSource,
                 *, dense: bool, matrix_products: bool) -> None:
        self.x, self.f = x, f
        self._obj, self._hessian = obj, hessian
        self._dense, self._matrix_products = dense, matrix_products
        self._g: FloatArray | None = None
        self._gnorm: float | None = None
        self._h: Any = None

    @property
    def g(self) -> FloatArray:
        """The gradient at ``x``, shape (n,)."""
        if self._g is None:
            self._g = self._obj.grad(self.x)
        return self._g

    @property
    def gnorm(self) -> float:
        """Euclidean norm of the gradient."""
        if self._gnorm is None:
            self._gnorm = float(np.linalg.norm(self.g))
        return self._gnorm

    @property
    def hess(self) -> Any:
        """The Hessian at ``x``: a dense (n, n) array, or an operator when not ``dense``."""
        if self._h is None:
            source = self._hessian
            self._h = source.hess_dense(self.x) if self._dense else source.hess(self.x)
        return self._h

    def hessp(self, p: FloatArray) -> FloatArray:
        """The product ``H p``, shape (n,)."""
        if self._matrix_products:
            h = self.hess
            return np.asarray(h @ p if isinstance(h, np.ndarray) else h.dot(p), dtype=float)
        return np.asarray(self._hessian.hessp(self.x, p), dtype=float)

    def value(self, p: FloatArray) -> float:
        """The model value ``f + g.p + p.H.p / 2`` at the step ``p``."""
        return self.f + float(np.dot(self.g, p)) + 0.5 * float(np.dot(p, self.hessp(p)))


#: the options every trust-region method shares, as documented in each runner's docstring
COMMON_OPTIONS_DOC = """initial_trust_radius : float
        Initial trust-region radius (in the units of x).
    max_trust_radius : float
        Maximum trust-region radius: no step longer than this is proposed.
    eta : float
        Acceptance threshold on the actual/predicted reduction ratio, in [0, 0.25).
    gtol : float
        Terminate successfully when the gradient's Euclidean norm is below `gtol`.
    maxiter : int
        Maximum number of iterations (default ``200 * n``).
    workers : int or map-like callable, optional
        Accepted for compatibility with scipy; finite differences are evaluated serially here.
"""


def with_common_options(doc: str | None) -> str:
    """A runner's docstring with ``{common_options}`` replaced by `COMMON_OPTIONS_DOC`."""
    return (doc or "").replace("{common_options}", COMMON_OPTIONS_DOC.rstrip("\n"))


def require_jacobian(ctx: RunContext, message: str) -> None:
    """Raise `ValueError(message)` unless a gradient callable (or ``jac=True``) was given.

    As scipy, the trust-region methods do not estimate the gradient by finite differences.
    """
    if not (callable(ctx.jac) or ctx.jac is True):
        raise ValueError(message)


def _check_radii(initial_trust_radius: float, max_trust_radius: float, eta: float) -> None:
    if not 0 <= eta < 0.25:
        raise ValueError("invalid acceptance stringency: 'eta' must be in [0, 0.25), "
                         f"got {eta!r}.")
    if max_trust_radius <= 0:
        raise ValueError(f"the max trust radius must be positive, got {max_trust_radius!r}.")
    if initial_trust_radius <= 0:
        raise ValueError("the initial trust radius must be positive")
    if initial_trust_radius >= max_trust_radius:
        raise ValueError("the initial trust radius must be less than the max trust radius")


def _next_radius(radius: float, rho: float, hits_boundary: bool, max_trust_radius: float) -> float:
    if rho < _SHRINK_BELOW:
        return radius * 0.25
    if rho > _GROW_ABOVE and hits_boundary:
        return min(2.0 * radius, max_trust_radius)
    return radius


def run_trust_region(ctx: RunContext, x0: FloatArray,
                     subproblem: Callable[[QuadraticModel], SubproblemSolver], *,
                     method: str, needs: str, dense: bool, initial_trust_radius: float,
                     max_trust_radius: float, eta: float, gtol: float,
                     maxiter: int | None) -> OptimizeResult:
    """Minimize with the trust-region loop, solving each model with ``subproblem(model)``.

    ``method`` and ``needs`` are passed to `make_hessian`; ``dense`` makes the models keep a
    dense Hessian.  The subproblem solver is built when a point is first reached (so a solver
    that needs the Hessian or the gradient at once evaluates them at every trial point, as
    scipy's do).  Returns scipy's fields: ``x``, ``fun``, ``jac``, ``nfev``, ``njev``, ``nhev``,
    ``nit``, ``status``, ``success``, ``message`` and, when ``hess`` is a callable, ``hess``
    (the Hessian at the solution).
    """
    _check_radii(initial_trust_radius, max_trust_radius, eta)
    if maxiter is None:
        maxiter = 200 * x0.size
    obj = ctx.make_objective()
    hessian = make_hessian(ctx, obj, method=method, needs=needs)
    evaluator = hessian.watch(obj)  # feeds every visited point to an update strategy
    its = ctx.iterations
    f0 = evaluator.fun(x0)
    matrix_products = dense or (callable(ctx.hess) and ctx.hessp is None)

    def model_at(x: FloatArray, f: float) -> tuple[QuadraticModel, SubproblemSolver]:
        model = QuadraticModel(x, f, evaluator, hessian, dense=dense,
                               matrix_products=matrix_products)
        return model, subproblem(model)

    model, solver = model_at(x0, f0)
    if callable(ctx.hess):
        _ = model.hess  # scipy evaluates a callable Hessian at x0 at once (nhev 1)
    its.start(x0, f0, model.g)
    radius, k, status = float(initial_trust_radius), 0, 0
    while model.gnorm >= gtol:
        if k >= maxiter:  # only when maxiter <= 0: scipy would still take one step
            status = 1
            break
        try:
            p, hits_boundary = solver.solve(radius)
        except np.linalg.LinAlgError:
            status = 3
            break
        predicted_value = model.value(p)
        x_trial = model.x + p
        trial, trial_solver = model_at(x_trial, evaluator.fun(x_trial))
        predicted_reduction = model.f - predicted_value
        if predicted_reduction <= 0:
            status = 2
            break
        rho = (model.f - trial.f) / predicted_reduction
        radius = _next_radius(radius, rho, hits_boundary, max_trust_radius)
        if rho > eta:
            model, solver = trial, trial_solver
        k += 1
        its.step(model.x, model.f, model.g)
        if model.gnorm < gtol:
            break
        if k >= maxiter:
            status = 1
            break
    # scipy counts one extra Hessian evaluation when only ``hessp`` is given (its
    # ScalarFunction evaluates a placeholder ``hess`` at x0)
    nhev = hessian.nhev + (1 if ctx.hess is None else 0)
    result = OptimizeResult(x=model.x, success=status == 0, status=status, fun=model.f,
                            jac=model.g, nfev=obj.nfev, njev=obj.njev, nhev=nhev, nit=k,
                            message=TRUST_REGION_MESSAGES[status])
    if callable(ctx.hess):
        result["hess"] = model.hess
    return result
