"""Standard errors of fitted parameters from the Hessian of the objective at the best point.

When the objective is a negative log-likelihood (NLL), the inverse of its Hessian at the
maximum-likelihood estimate is the asymptotic covariance of the estimate (the inverse observed
Fisher information), and the square roots of its diagonal are the standard errors.  The Hessian
is taken in natural units, by central finite differences of objective values (one-sided
stencils that stay inside the bounds for a parameter at or near a bound; computed by the
solvers' finite-difference routine, `solvers.approx_hessian`) or from an analytic callable.  A Hessian that is not positive definite, singular or non-finite gives no covariance
and a message that says why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calib.errors import ProblemError
from calib.problem import Problem
from solvers import approx_hessian

__all__ = ["DEFAULT_REL_STEP", "LEAST_SQUARES_MODELS", "SINGULAR_RTOL", "ParameterErrors",
           "standard_errors"]

FloatArray = npt.NDArray[np.float64]
HessianCallable = Callable[[FloatArray, FloatArray], npt.ArrayLike]

#: built-in models whose objective is a plain sum of squares (use ``least_squares=True``)
LEAST_SQUARES_MODELS = frozenset({"linear", "sinusoid"})

_EPS = float(np.finfo(np.float64).eps)
#: default relative step, eps**(1/4) (about 1.2e-4): balances the O(h**2) truncation error of
#: second differences against their O(eps/h**2) rounding error
DEFAULT_REL_STEP = _EPS ** 0.25
#: the diagonally scaled Hessian (unit diagonal) counts as singular when its smallest eigenvalue
#: is at most this (parameters correlated beyond 1 - 1e-6 are not separately identified)
SINGULAR_RTOL = 1e-6
#: a diagonal second difference within this many eps*|f|/h**2 of zero is rounding noise: flat
_NOISE_FACTOR = 64.0

@dataclass(frozen=True, eq=False)
class ParameterErrors:
    """Standard errors of the parameters at one point (a read-only record).

    Attributes
    ----------
    names : tuple of str
        Parameter names, in order (p of them).
    x : ndarray, shape (p,)
        The point, natural units.
    hessian : ndarray, shape (p, p)
        Symmetrised Hessian of the objective at ``x``, natural units (NaN entries where the
        objective was not finite).
    covariance : ndarray, shape (p, p), or None
        Inverse Hessian (times the least-squares scale when asked for); None when the Hessian
        is not positive definite.
    standard_errors : ndarray, shape (p,)
        Square roots of the covariance diagonal, natural units; NaN when not available.
    positive_definite : bool
        Whether the Hessian is (numerically) positive definite.
    message : str
        ``'Hessian is positive definite'`` or why there is no covariance (not positive
        definite, singular, non-finite), plus notes on one-sided differences.
    """

    names: tuple[str, ...]
    x: FloatArray
    hessian: FloatArray
    covariance: FloatArray | None
    standard_errors: FloatArray
    positive_definite: bool
    message: str

    def as_dict(self) -> dict[str, float]:
        """``{name: standard error}`` (NaN where not available)."""
        return dict(zip(self.names, map(float, self.standard_errors)))


def standard_errors(problem: Problem, x: npt.ArrayLike, *,
                    hessian: HessianCallable | None = None, rel_step: float | None = None,
                    least_squares: bool = False) -> ParameterErrors:
    """Standard errors of ``problem``'s parameters at ``x`` from the objective's Hessian.

    The objective must be a **negative log-likelihood** in natural units: the covariance is then
    the inverse Hessian.  For a plain **sum of squares** (the ``linear`` and ``sinusoid``
    models) pass ``least_squares=True``: with ``f = SSE`` the Hessian is ``2 J^T J``, so the
    covariance ``s**2 (J^T J)^-1`` is ``2 * SSE / (n - p)`` times the inverse Hessian, with
    ``n`` the dataset's rows and ``s**2 = SSE / (n - p)`` the residual variance.

    Finite differences: parameter i gets the step ``h_i = rel_step * max(|x_i|, floor_i)``
    with ``floor_i = min(1, (upper_i - lower_i) / 10)`` (log-scale parameters are positive and
    use ``|x_i|``). Central differences ``(f(x+h) - 2f(x) + f(x-h)) / h**2`` and the 4-point
    mixed stencil, both O(h**2); a parameter whose ``x_i +- h_i`` leaves its bounds gets an
    O(h**2) one-sided stencil (points ``x_i + k*h_i``, k = 0..3, or k = 0..-3) that stays
    inside them; where even that does not fit, the step shrinks to a third of the larger room.
    The objective is never evaluated outside the bounds. It costs ``1 + 2 p**2`` evaluations
    with central stencils, in one call of ``problem.objective_batch`` when there is one.

    Parameters
    ----------
    problem : Problem
        Objective, parameters (names, bounds) and dataset.
    x : array_like, shape (p,)
        The point, natural units, inside the bounds (normally the best point of a fit).
    hessian : callable, optional
        ``hessian(params (p,), data (n_obs, n_cols)) -> (p, p)``, the analytic Hessian of the
        objective in natural units; replaces the finite differences.
    rel_step : float, optional
        Relative step of the differences; default `DEFAULT_REL_STEP` (eps**(1/4)).
    least_squares : bool
        Scale the covariance by ``2 * f(x) / (n - p)`` (see above).

    Returns
    -------
    ParameterErrors

    Raises
    ------
    ProblemError
        For ``x`` of the wrong shape, non-finite or outside the bounds, a bad ``rel_step``, or
        an analytic Hessian of the wrong shape.
    """
    point = _check_point(problem, x)
    data = problem.dataset.values
    notes: list[str] = []
    if hessian is None:
        matrix, noise, note = _fd_hessian(problem, point, _check_rel_step(rel_step))
        notes += [note] if note else []
    else:
        matrix, noise = _analytic_hessian(hessian, point, data, problem.n_parameters), None
    covariance, positive_definite, message = _invert(matrix, noise, problem.names)
    if covariance is not None and least_squares:
        covariance, scale_note = _least_squares_scale(problem, point, covariance)
        if scale_note:
            covariance, message = None, f"{message}; {scale_note}"
    ses = np.full(problem.n_parameters, np.nan) if covariance is None else np.sqrt(
        np.diag(covariance))
    return ParameterErrors(names=problem.names, x=point, hessian=matrix, covariance=covariance,
                           standard_errors=ses, positive_definite=positive_definite,
                           message="; ".join([message, *notes]))


# -- input checks --------------------------------------------------------------------------------
def _check_point(problem: Problem, x: npt.ArrayLike) -> FloatArray:
    point = np.array(x, dtype=np.float64)
    p = problem.n_parameters
    if point.shape != (p,):
        raise ProblemError(f"standard errors need a point of shape ({p},), got {point.shape}")
    if not np.all(np.isfinite(point)):
        raise ProblemError(f"standard errors need a finite point, got {point.tolist()}")
    outside = [(par.name, float(v)) for par, v in zip(problem.parameters, point)
               if not par.lower <= v <= par.upper]
    if outside:
        name, value = outside[0]
        raise ProblemError(f"parameter {name!r} = {value!r} is outside its bounds; standard "
                           "errors need a point inside the bounds")
    return point


def _check_rel_step(rel_step: float | None) -> float:
    if rel_step is None:
        return DEFAULT_REL_STEP
    if isinstance(rel_step, bool) or not isinstance(rel_step, (int, float, np.floating)):
        raise ProblemError(f"rel_step must be a number, got {rel_step!r}")
    if not (np.isfinite(rel_step) and 0.0 < rel_step < 1.0):
        raise ProblemError(f"rel_step must be in (0, 1), got {rel_step!r}")
    return float(rel_step)


def _analytic_hessian(hessian: HessianCallable, point: FloatArray, data: FloatArray,
                      p: int) -> FloatArray:
    if not callable(hessian):
        raise ProblemError(f"hessian must be callable, got {hessian!r}")
    matrix = np.asarray(hessian(point.copy(), data), dtype=np.float64)
    if matrix.shape != (p, p):
        raise ProblemError(f"hessian must return shape ({p}, {p}), got {matrix.shape}")
    return 0.5 * (matrix + matrix.T)


# -- finite differences --------------------------------------------------------------------------
def _steps(problem: Problem, point: FloatArray, rel_step: float) -> FloatArray:
    floor = np.minimum(1.0, (problem.upper - problem.lower) / 10.0)
    floor = np.where(problem.log_mask, 0.0, floor)
    return rel_step * np.maximum(np.abs(point), floor)


def _fd_hessian(problem: Problem, point: FloatArray,
                rel_step: float) -> tuple[FloatArray, FloatArray, str]:
    """Hessian (p, p), per-parameter rounding-noise level of its diagonal (p,), and a note."""
    estimate = approx_hessian(lambda points: _evaluate(problem, list(points)), point,
                              _steps(problem, point, rel_step), lb=problem.lower,
                              ub=problem.upper)
    finite = estimate.values[np.isfinite(estimate.values)]
    f_scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    noise = _NOISE_FACTOR * _EPS * f_scale / estimate.steps ** 2
    one_sided = [name for name, side in zip(problem.names, estimate.one_sided) if side]
    note = ("one-sided differences for " + ", ".join(map(repr, one_sided)) + " (at or near a "
            "bound: standard errors assume an interior optimum)") if one_sided else ""
    return estimate.matrix, noise, note


def _evaluate(problem: Problem, points: list[FloatArray]) -> FloatArray:
    """Objective at each point (NaN where it raises or is not finite), batched when possible."""
    data = problem.dataset.values
    with np.errstate(all="ignore"):
        if problem.objective_batch is not None:
            try:
                out = np.asarray(problem.objective_batch(np.array(points), data), dtype=float)
                if out.shape == (len(points),):
                    return np.where(np.isfinite(out), out, np.nan)
            except Exception:  # noqa: BLE001 - fall back to the scalar objective, point by point
                pass
        values = np.empty(len(points))
        for n, pt in enumerate(points):
            try:
                values[n] = float(problem.objective(pt, data))
            except Exception:  # noqa: BLE001 - a failing objective gives a non-finite Hessian
                values[n] = np.nan
    return np.where(np.isfinite(values), values, np.nan)


# -- inversion -----------------------------------------------------------------------------------
def _invert(matrix: FloatArray, noise: FloatArray | None,
            names: tuple[str, ...]) -> tuple[FloatArray | None, bool, str]:
    """Covariance (inverse Hessian) or None, the positive-definite flag, and the message."""
    if not np.all(np.isfinite(matrix)):
        bad = sorted({names[i] for i in np.argwhere(~np.isfinite(matrix)).ravel()})
        return None, False, ("Hessian has non-finite entries (the objective is not finite "
                             f"near the point) for {', '.join(map(repr, bad))}")
    diagonal = np.diag(matrix)
    level = np.zeros_like(diagonal) if noise is None else noise
    flat = [names[i] for i in range(len(names)) if abs(diagonal[i]) <= level[i]]
    if flat:
        return None, False, ("Hessian is singular: the objective is flat in "
                             f"{', '.join(map(repr, flat))} (curvature below rounding noise)")
    negative = [names[i] for i in range(len(names)) if diagonal[i] < 0.0]
    if negative:
        return None, False, ("Hessian is not positive definite: negative curvature in "
                             f"{', '.join(map(repr, negative))} (not a minimum)")
    scale = 1.0 / np.sqrt(diagonal)
    scaled = matrix * np.outer(scale, scale)  # unit diagonal; eigenvalues in (0, p) when PD
    eigenvalues, vectors = np.linalg.eigh(scaled)
    smallest, direction = float(eigenvalues[0]), np.abs(vectors[:, 0])
    dominant = np.flatnonzero(direction >= 0.5 * direction.max())
    involved = ", ".join(repr(names[i]) for i in dominant)
    if smallest < -SINGULAR_RTOL:
        return None, False, ("Hessian is not positive definite: indefinite (a saddle), smallest "
                             f"scaled eigenvalue {smallest:.3g} along {involved}")
    if smallest <= SINGULAR_RTOL:
        return None, False, (f"Hessian is singular: smallest scaled eigenvalue {smallest:.3g} "
                             f"<= {SINGULAR_RTOL:g}; {involved} are not separately identified")
    try:
        lower = np.linalg.cholesky(scaled)
    except np.linalg.LinAlgError:
        return None, False, "Hessian is not positive definite: Cholesky factorisation failed"
    inverse_lower = np.linalg.solve(lower, np.eye(len(names)))
    covariance = (inverse_lower.T @ inverse_lower) * np.outer(scale, scale)
    return 0.5 * (covariance + covariance.T), True, "Hessian is positive definite"


def _least_squares_scale(problem: Problem, point: FloatArray,
                         covariance: FloatArray) -> tuple[FloatArray, str]:
    """Covariance times ``2 * SSE / (n - p)``, or a note saying why it cannot be scaled."""
    n, p = problem.dataset.values.shape[0], problem.n_parameters
    if n <= p:
        return covariance, (f"least-squares scaling needs more observations (n={n}) than "
                            f"parameters (p={p})")
    sse = float(_evaluate(problem, [point])[0])
    if not np.isfinite(sse):
        return covariance, "least-squares scaling needs a finite sum of squares at the point"
    return covariance * (2.0 * sse / (n - p)), ""
