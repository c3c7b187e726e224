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
from calib.models import BUILTIN_MODELS, get_model
from calib.problem import Problem
from solvers import approx_hessian

__all__ = ["DEFAULT_REL_STEP", "LEAST_SQUARES_MODELS", "OBJECTIVE_KINDS", "SINGULAR_RTOL",
           "ParameterErrors", "standard_errors"]

FloatArray = npt.NDArray[np.float64]
HessianCallable = Callable[[FloatArray, FloatArray], npt.ArrayLike]

#: what an objective is: a negative log-likelihood or a plain sum of squared residuals
OBJECTIVE_KINDS = ("nll", "sse")
#: built-in models whose objective is a plain sum of squares (``kind="sse"``)
LEAST_SQUARES_MODELS = frozenset(name for name in BUILTIN_MODELS if get_model(name).kind == "sse")

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
    kind : str
        ``'nll'`` or ``'sse'``: how the covariance was formed (see `standard_errors`).
    correlation : ndarray, shape (p, p), or None
        ``cov_ij / (se_i se_j)``, unit diagonal; None without a covariance.
    n_observations : int
        Rows of the dataset (``n``).
    fun : float
        The objective at ``x`` (NaN when it is not finite there).
    aic, bic : float
        Information criteria with ``p`` free parameters.  ``nll``: ``2 p + 2 f`` and
        ``p ln n + 2 f``.  ``sse`` (Gaussian errors, variance profiled out, constants dropped as
        lmfit does): ``n ln(f / n) + 2 p`` and ``n ln(f / n) + p ln n``.
    one_sided : tuple of str
        Parameters differenced one-sidedly because they are at or near a bound (their errors
        assume an interior optimum).
    """

    names: tuple[str, ...]
    x: FloatArray
    hessian: FloatArray
    covariance: FloatArray | None
    standard_errors: FloatArray
    positive_definite: bool
    message: str
    kind: str = "nll"
    correlation: FloatArray | None = None
    n_observations: int = 0
    fun: float = float("nan")
    aic: float = float("nan")
    bic: float = float("nan")
    one_sided: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, float]:
        """``{name: standard error}`` (NaN where not available)."""
        return dict(zip(self.names, map(float, self.standard_errors)))


def standard_errors(problem: Problem, x: npt.ArrayLike, *,
                    hessian: HessianCallable | None = None, rel_step: float | None = None,
                    kind: str = "nll") -> ParameterErrors:
    """Standard errors of ``problem``'s parameters at ``x`` from the objective's Hessian.

    ``kind="nll"``: the objective is a **negative log-likelihood** in natural units; the
    covariance is the inverse Hessian (the inverse observed information).  ``kind="sse"``: the
    objective is a plain **sum of squared residuals** (the ``linear`` and ``sinusoid``
    models); with ``f = SSE`` the Hessian is ``2 J^T J`` at a least-squares fit, so the
    covariance ``s**2 (J^T J)^-1`` of curve_fit and lmfit is ``2 s**2 H^-1``, with ``n`` the
    dataset's rows and ``s**2 = SSE / (n - p)`` the residual variance.

    A problem with ``residuals`` and ``kind="sse"`` (no ``hessian``) gets curve_fit's exact
    ``s**2 (J^T J)^-1`` from the residual Jacobian instead, ``s**2 = SSE / (m - p)`` with ``m``
    residuals (`calib.residual_fit.residual_standard_errors`).

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
    kind : {'nll', 'sse'}
        What the objective is (see above); default ``'nll'``.

    Returns
    -------
    ParameterErrors

    Raises
    ------
    ProblemError
        For ``x`` of the wrong shape, non-finite or outside the bounds, a bad ``rel_step`` or
        ``kind``, or an analytic Hessian of the wrong shape.
    """
    if kind not in OBJECTIVE_KINDS:
        raise ProblemError(f"kind must be one of {OBJECTIVE_KINDS}, got {kind!r}")
    point = _check_point(problem, x)
    if kind == "sse" and hessian is None and problem.residuals is not None:
        from calib.residual_fit import residual_standard_errors

        return residual_standard_errors(problem, point)
    data = problem.dataset.values
    notes: list[str] = []
    one_sided: tuple[str, ...] = ()
    if hessian is None:
        matrix, noise, one_sided = _fd_hessian(problem, point, _check_rel_step(rel_step))
        if one_sided:
            notes.append("one-sided differences for " + ", ".join(map(repr, one_sided))
                         + " (at or near a bound: standard errors assume an interior optimum)")
    else:
        matrix, noise = _analytic_hessian(hessian, point, data, problem.n_parameters), None
    fun = float(_evaluate(problem, [point])[0])
    covariance, positive_definite, message = _invert(matrix, noise, problem.names)
    if covariance is not None and kind == "sse":
        covariance, scale_note = _least_squares_scale(problem, fun, covariance)
        if scale_note:
            covariance, message = None, f"{message}; {scale_note}"
    ses = np.full(problem.n_parameters, np.nan) if covariance is None else np.sqrt(
        np.diag(covariance))
    aic, bic = _information_criteria(kind, fun, problem.n_parameters, data.shape[0])
    return ParameterErrors(names=problem.names, x=point, hessian=matrix, covariance=covariance,
                           standard_errors=ses, positive_definite=positive_definite,
                           message="; ".join([message, *notes]), kind=kind,
                           correlation=_correlation(covariance), n_observations=data.shape[0],
                           fun=fun, aic=aic, bic=bic, one_sided=one_sided)


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
                rel_step: float) -> tuple[FloatArray, FloatArray, tuple[str, ...]]:
    """Hessian (p, p), rounding-noise level of its diagonal (p,), one-sided parameter names."""
    estimate = approx_hessian(lambda points: _evaluate(problem, list(points)), point,
                              _steps(problem, point, rel_step), lb=problem.lower,
                              ub=problem.upper)
    finite = estimate.values[np.isfinite(estimate.values)]
    f_scale = float(np.max(np.abs(finite))) if finite.size else 0.0
    noise = _NOISE_FACTOR * _EPS * f_scale / estimate.steps ** 2
    one_sided = tuple(name for name, side in zip(problem.names, estimate.one_sided) if side)
    return estimate.matrix, noise, one_sided


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


def _least_squares_scale(problem: Problem, sse: float,
                         covariance: FloatArray) -> tuple[FloatArray, str]:
    """Covariance times ``2 * SSE / (n - p)``, or a note saying why it cannot be scaled."""
    n, p = problem.dataset.values.shape[0], problem.n_parameters
    if n <= p:
        return covariance, (f"least-squares scaling needs more observations (n={n}) than "
                            f"parameters (p={p})")
    if not np.isfinite(sse):
        return covariance, "least-squares scaling needs a finite sum of squares at the point"
    return covariance * (2.0 * sse / (n - p)), ""


def _correlation(covariance: FloatArray | None) -> FloatArray | None:
    """Correlation matrix (unit diagonal) of a covariance, or None."""
    if covariance is None:
        return None
    scale = 1.0 / np.sqrt(np.diag(covariance))
    correlation = covariance * np.outer(scale, scale)
    np.fill_diagonal(correlation, 1.0)
    return np.clip(correlation, -1.0, 1.0)


def _information_criteria(kind: str, fun: float, p: int, n: int) -> tuple[float, float]:
    """(AIC, BIC) for an objective of this kind and value, p parameters, n observations."""
    if not np.isfinite(fun) or n < 1:
        return float("nan"), float("nan")
    if kind == "nll":
        return 2.0 * p + 2.0 * fun, p * float(np.log(n)) + 2.0 * fun
    if fun <= 0.0:  # a perfect fit: the profiled Gaussian likelihood is unbounded
        return float("-inf"), float("-inf")
    fit = n * float(np.log(fun / n))
    return fit + 2.0 * p, fit + p * float(np.log(n))
