"""Standard errors from the Hessian at the optimum (`calib.uncertainty.standard_errors`).

References: the analytic Fisher information of the normal model, the textbook OLS covariance of
the linear model, scipy's curve_fit covariance (sums of squares, `kind="sse"`), and an independent Richardson-extrapolated central-difference Hessian (written
here) for OU and GARCH(1,1).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from scipy.optimize import curve_fit

from calib import Dataset, Parameter, Problem, get_model, run_start
from calib.errors import ProblemError
from calib.uncertainty import ParameterErrors, standard_errors
from solvers import minimize

FloatArray = np.ndarray


# -- helpers -------------------------------------------------------------------------------------
def _model_problem(name: str, truth: list[float], n_points: int, seed: int, *,
                   batch: bool = True, **options: float) -> Problem:
    model = get_model(name)
    data = model.simulate(np.array(truth), n_points, np.random.default_rng(seed))
    return Problem(objective=model.objective, parameters=model.parameters,
                   dataset=Dataset(f"{name}-{seed}", data, model.columns),
                   objective_batch=model.objective_batch if batch else None,
                   options=options)


def _fit(problem: Problem, x0: list[float]) -> FloatArray:
    """The MLE by L-BFGS-B in calib's internal (log) space, run as a sweep runs it."""
    outcome = run_start(problem, np.array(x0), 0)
    assert outcome.success, outcome.message
    return outcome.x


def _richardson_hessian(f: Callable[[FloatArray], float], x: FloatArray,
                        rel: float = 1e-3) -> FloatArray:
    """Reference Hessian: 4-point central differences at steps h and h/2, Richardson-combined."""
    def central(h: FloatArray) -> FloatArray:
        p = x.size
        out = np.empty((p, p))
        for i in range(p):
            for j in range(p):
                ei, ej = np.eye(p)[i] * h[i], np.eye(p)[j] * h[j]
                out[i, j] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej)
                             + f(x - ei - ej)) / (4.0 * h[i] * h[j])
        return out

    h = rel * np.abs(x)
    return (4.0 * central(h / 2.0) - central(h)) / 3.0


def _toy_problem(objective: Callable[[FloatArray, FloatArray], float],
                 bounds: list[tuple[float, float]]) -> Problem:
    params = tuple(Parameter(name, lo, hi) for name, (lo, hi) in zip("abc", bounds))
    return Problem(objective=objective, parameters=params,
                   dataset=Dataset("toy", np.zeros((10, 1)), ("y",)))


def _normal_hessian(params: FloatArray, data: FloatArray) -> FloatArray:
    """Analytic Hessian of the normal NLL in (mu, sigma)."""
    mu, sigma = params
    r = data[:, 0] - mu
    n = r.size
    cross = 2.0 * r.sum() / sigma ** 3
    return np.array([[n / sigma ** 2, cross],
                     [cross, -n / sigma ** 2 + 3.0 * np.sum(r * r) / sigma ** 4]])


# -- normal: analytic Fisher information ---------------------------------------------------------
@pytest.mark.parametrize(("n", "seed"), [(50, 0), (400, 1), (5000, 2)])
def test_normal_matches_fisher_information(n: int, seed: int) -> None:
    problem = _model_problem("normal", [3.0, 0.7], n, seed)
    fit = minimize(problem.natural_objective, np.array([0.0, 2.0]), method="L-BFGS-B",
                   bounds=list(zip(problem.lower, problem.upper)))
    assert fit.success
    errors = standard_errors(problem, fit.x)
    sigma_hat = fit.x[1]
    fisher = np.array([sigma_hat / np.sqrt(n), sigma_hat / np.sqrt(2.0 * n)])
    assert errors.positive_definite and errors.message == "Hessian is positive definite"
    np.testing.assert_allclose(errors.standard_errors, fisher, rtol=1e-2)
    # the sample's own MLE (closed form) makes the Fisher formula exact: much tighter
    y = problem.dataset.values[:, 0]
    exact = standard_errors(problem, [y.mean(), y.std()])
    np.testing.assert_allclose(exact.standard_errors, [y.std() / np.sqrt(n),
                                                       y.std() / np.sqrt(2.0 * n)], rtol=1e-6)


def test_normal_finite_differences_match_the_analytic_hessian() -> None:
    problem = _model_problem("normal", [-1.0, 2.5], 300, 4)
    x = np.array([-0.9, 2.4])  # not the MLE: the cross term is non-zero
    numeric = standard_errors(problem, x)
    analytic = standard_errors(problem, x, hessian=_normal_hessian)
    np.testing.assert_allclose(numeric.hessian, _normal_hessian(x, problem.dataset.values),
                               rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(analytic.hessian, _normal_hessian(x, problem.dataset.values),
                               rtol=1e-15)
    np.testing.assert_allclose(analytic.covariance,
                               np.linalg.inv(_normal_hessian(x, problem.dataset.values)),
                               rtol=1e-12)
    np.testing.assert_allclose(numeric.standard_errors, analytic.standard_errors, rtol=1e-6)


def test_analytic_hessian_of_the_wrong_shape_is_refused() -> None:
    problem = _model_problem("normal", [0.0, 1.0], 20, 5)
    with pytest.raises(ProblemError, match=r"shape \(2, 2\), got \(3,\)"):
        standard_errors(problem, [0.0, 1.0], hessian=lambda x, d: np.ones(3))


def test_non_finite_analytic_hessian_is_flagged() -> None:
    problem = _model_problem("normal", [0.0, 1.0], 20, 5)
    errors = standard_errors(problem, [0.0, 1.0], hessian=lambda x, d: np.full((2, 2), np.nan))
    assert not errors.positive_definite and errors.covariance is None
    assert "non-finite" in errors.message


# -- least squares: the OLS covariance -----------------------------------------------------------
def test_linear_least_squares_matches_ols_covariance() -> None:
    problem = _model_problem("linear", [2.0, -1.0], 40, 6)
    x_col, y = problem.dataset.values.T
    design = np.column_stack([x_col, np.ones_like(x_col)])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual_var = np.sum((y - design @ beta) ** 2) / (y.size - 2)
    ols = np.sqrt(np.diag(residual_var * np.linalg.inv(design.T @ design)))
    errors = standard_errors(problem, beta, kind="sse")
    np.testing.assert_allclose(errors.standard_errors, ols, rtol=1e-6)
    unscaled = standard_errors(problem, beta)  # plain inverse Hessian: a different number
    assert not np.allclose(unscaled.standard_errors, ols, rtol=1e-2)


def test_least_squares_needs_more_rows_than_parameters() -> None:
    model = get_model("linear")
    problem = Problem(objective=model.objective, parameters=model.parameters,
                      dataset=Dataset("two", np.array([[0.0, 1.0], [1.0, 2.5]]), ("x", "y")))
    errors = standard_errors(problem, [1.5, 1.0], kind="sse")
    assert errors.covariance is None and np.isnan(errors.standard_errors).all()
    assert "n=2" in errors.message and "p=2" in errors.message


# -- OU and GARCH: an independent finite-difference reference ------------------------------------
def test_ou_matches_richardson_reference() -> None:
    problem = _model_problem("ou", [1.5, 0.5, 0.3], 2000, 7, ftol=1e-13, gtol=1e-9)
    x = _fit(problem, [1.0, 0.0, 0.5])
    errors = standard_errors(problem, x)
    reference = np.sqrt(np.diag(np.linalg.inv(_richardson_hessian(problem.natural_objective, x))))
    assert errors.positive_definite, errors.message
    np.testing.assert_allclose(errors.standard_errors, reference, rtol=1e-2)
    np.testing.assert_allclose(errors.standard_errors, reference, rtol=1e-5)  # measured ~1e-7


def test_garch_is_positive_definite_at_the_mle() -> None:
    truth = np.array([0.05, 0.1, 0.85])
    problem = _model_problem("garch11", list(truth), 3000, 8, ftol=1e-13, gtol=1e-8)
    x = _fit(problem, [0.1, 0.05, 0.8])
    errors = standard_errors(problem, x)
    assert errors.positive_definite, errors.message
    assert np.all(np.isfinite(errors.standard_errors)) and np.all(errors.standard_errors > 0)
    assert np.all(np.abs(x - truth) < 4.0 * errors.standard_errors)
    reference = np.sqrt(np.diag(np.linalg.inv(_richardson_hessian(problem.natural_objective, x))))
    np.testing.assert_allclose(errors.standard_errors, reference, rtol=1e-2)


def test_batch_and_scalar_objectives_give_the_same_errors() -> None:
    batched = _model_problem("ou", [1.5, 0.5, 0.3], 300, 9)
    scalar = _model_problem("ou", [1.5, 0.5, 0.3], 300, 9, batch=False)
    x = np.array([1.4, 0.45, 0.31])
    np.testing.assert_allclose(standard_errors(batched, x).hessian,
                               standard_errors(scalar, x).hessian, rtol=1e-7)


# -- not positive definite -----------------------------------------------------------------------
def _saddle(p: FloatArray, data: FloatArray) -> float:
    return float(p[0] ** 2 - p[1] ** 2)


def _valley(p: FloatArray, data: FloatArray) -> float:
    return float((p[0] + p[1] - 1.0) ** 2)


def _ignores_b(p: FloatArray, data: FloatArray) -> float:
    return float((p[0] - 1.0) ** 2)


@pytest.mark.parametrize(("objective", "point", "words"), [
    (_saddle, [0.0, 0.0], ["not positive definite", "negative curvature", "'b'"]),
    (_valley, [0.5, 0.5], ["singular", "'a', 'b'", "not separately identified"]),
    (_ignores_b, [1.0, 0.3], ["singular", "flat in 'b'"]),
])
def test_not_positive_definite_is_flagged(objective: Callable[[FloatArray, FloatArray], float],
                                          point: list[float], words: list[str]) -> None:
    errors = standard_errors(_toy_problem(objective, [(-5.0, 5.0)] * 2), point)
    assert isinstance(errors, ParameterErrors)
    assert errors.positive_definite is False and errors.covariance is None
    assert np.isnan(errors.standard_errors).all()
    assert errors.hessian.shape == (2, 2) and np.all(np.isfinite(errors.hessian))
    for word in words:
        assert word in errors.message


def test_indefinite_with_positive_diagonal_is_a_saddle() -> None:
    def twisted(p: FloatArray, data: FloatArray) -> float:
        return float(p[0] ** 2 + p[1] ** 2 + 4.0 * p[0] * p[1])

    errors = standard_errors(_toy_problem(twisted, [(-5.0, 5.0)] * 2), [0.0, 0.0])
    assert not errors.positive_definite
    assert "indefinite" in errors.message and "'a', 'b'" in errors.message


@pytest.mark.parametrize("failure", ["nan", "raise"])
def test_objective_failing_near_the_point_gives_non_finite(failure: str) -> None:
    def fragile(p: FloatArray, data: FloatArray) -> float:
        if p[1] > 1.0:
            if failure == "raise":
                raise ValueError("b too large")
            return float("nan")
        return float(p[0] ** 2 + p[1] ** 2)

    errors = standard_errors(_toy_problem(fragile, [(-5.0, 5.0)] * 2), [0.0, 1.0])
    assert not errors.positive_definite and errors.covariance is None
    assert "non-finite" in errors.message and "'b'" in errors.message


# -- bounds: one-sided stencils stay inside ------------------------------------------------------
def _curved(p: FloatArray, data: FloatArray) -> float:
    return float(np.exp(p[0]) + 3.0 * p[0] * p[1] + p[1] ** 4)


def _curved_hessian(p: FloatArray) -> FloatArray:
    return np.array([[np.exp(p[0]), 3.0], [3.0, 12.0 * p[1] ** 2]])


# the default step of 'a' in [0, 2] near 0 is 1.2e-4 * min(1, 2/10) = 2.4e-5
@pytest.mark.parametrize(("bounds", "point", "one_sided"), [
    ([(0.0, 2.0), (-3.0, 3.0)], [0.0, 1.0], ["'a'"]),                     # a at its lower bound
    ([(-2.0, 0.5), (-3.0, 3.0)], [0.5, 1.0], ["'a'"]),                    # a at its upper bound
    ([(0.0, 2.0), (-3.0, 3.0)], [1e-5, 1.0], ["'a'"]),                    # within one step
    ([(0.0, 2.0), (1.0, 3.0)], [0.0, 1.0], ["'a'", "'b'"]),               # both at a bound
    ([(0.2 - 1e-5, 0.2 + 3e-5), (1.0 - 1e-4, 1.0 + 2e-5)], [0.2, 1.0],   # boxes narrower than
     ["'a'", "'b'"]),                                                     # 3 steps each side
])
def test_one_sided_stencils_stay_inside_the_bounds(bounds: list[tuple[float, float]],
                                                   point: list[float],
                                                   one_sided: list[str]) -> None:
    seen: list[FloatArray] = []

    def watched(p: FloatArray, data: FloatArray) -> float:
        seen.append(np.array(p, copy=True))
        return _curved(p, data)

    problem = _toy_problem(watched, bounds)
    errors = standard_errors(problem, point)
    pts = np.array(seen)
    assert pts.shape[0] >= 1 + 2 * 2 ** 2
    assert np.all(pts >= problem.lower) and np.all(pts <= problem.upper), "left the bounds"
    exact = _curved_hessian(np.array(point))
    np.testing.assert_allclose(errors.hessian, exact, rtol=1e-4, atol=1e-4)
    assert errors.positive_definite, errors.message
    np.testing.assert_allclose(errors.covariance, np.linalg.inv(exact), rtol=1e-3)
    assert "one-sided differences for " + ", ".join(one_sided) in errors.message


def test_interior_point_uses_central_differences_only() -> None:
    errors = standard_errors(_toy_problem(_curved, [(-2.0, 2.0), (-3.0, 3.0)]), [0.2, 1.0])
    assert "one-sided" not in errors.message
    np.testing.assert_allclose(errors.hessian, _curved_hessian(np.array([0.2, 1.0])), rtol=1e-6)


# -- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("point", "kwargs", "match"), [
    ([0.0], {}, r"shape \(2,\), got \(1,\)"),
    ([0.0, np.nan], {}, "finite point"),
    ([0.0, 9.0], {}, "'b' = 9.0 is outside its bounds"),
    ([0.0, 1.0], {"rel_step": 0.0}, r"rel_step must be in \(0, 1\)"),
    ([0.0, 1.0], {"rel_step": "big"}, "rel_step must be a number"),
])
def test_bad_input_is_refused(point: list[float], kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ProblemError, match=match):
        standard_errors(_toy_problem(_curved, [(-2.0, 2.0), (-3.0, 3.0)]), point, **kwargs)


def test_rel_step_changes_the_steps_not_the_answer() -> None:
    problem = _toy_problem(_curved, [(-2.0, 2.0), (-3.0, 3.0)])
    coarse = standard_errors(problem, [0.2, 1.0], rel_step=1e-3)
    fine = standard_errors(problem, [0.2, 1.0])
    assert not np.array_equal(coarse.hessian, fine.hessian)
    np.testing.assert_allclose(coarse.standard_errors, fine.standard_errors, rtol=1e-5)
    assert coarse.as_dict() == dict(zip(("a", "b"), map(float, coarse.standard_errors)))


# -- kinds: curve_fit's covariance for sums of squares, criteria, correlations -----------------
def _decay_sse(params: FloatArray, data: FloatArray) -> float:
    amplitude, rate, offset = params
    t, y = data[:, 0], data[:, 1]
    return float(np.sum((y - (amplitude * np.exp(-rate * t) + offset)) ** 2))


def _decay_problem(seed: int, noise: float = 0.01) -> Problem:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 5.0, 60)
    y = 2.5 * np.exp(-1.3 * t) + 0.4 + rng.normal(0.0, noise, t.size)
    params = (Parameter("amplitude", 0.01, 10.0), Parameter("rate", 0.01, 10.0),
              Parameter("offset", -5.0, 5.0))
    return Problem(objective=_decay_sse, parameters=params,
                   dataset=Dataset("decay", np.column_stack([t, y]), ("t", "y")))


@pytest.mark.parametrize(("seed", "noise", "rtol"), [(0, 0.01, 1e-3), (1, 0.01, 1e-3),
                                                     (0, 0.05, 1e-2)])
def test_sse_errors_are_curve_fits_on_a_nonlinear_model(seed: int, noise: float,
                                                        rtol: float) -> None:
    # curve_fit inverts J^T J; the objective's Hessian is 2 (J^T J + sum r_i hess(r_i)), so on
    # a nonlinear model the two differ by a term proportional to the residuals (0.4 % here at
    # noise 0.05, under 0.1 % at 0.01); the residual Jacobian itself needs residual objectives
    problem = _decay_problem(seed, noise)
    t, y = problem.dataset.values.T
    popt, pcov = curve_fit(lambda t, a, k, c: a * np.exp(-k * t) + c, t, y, p0=[1.0, 1.0, 0.0])
    errors = standard_errors(problem, popt, kind="sse")
    np.testing.assert_allclose(errors.standard_errors, np.sqrt(np.diag(pcov)), rtol=rtol)
    if rtol > 1e-3:
        return
    d = np.sqrt(np.diag(pcov))
    assert np.all(np.abs(errors.covariance - pcov) <= 2e-3 * np.outer(d, d))
    np.testing.assert_allclose(errors.correlation, pcov / np.outer(d, d), atol=1e-3)
    assert errors.kind == "sse" and errors.n_observations == 60


def test_sse_errors_are_curve_fits_on_the_sinusoid_model() -> None:
    problem = _model_problem("sinusoid", [1.5, 0.3, -0.5], 80, 7)
    x, y = problem.dataset.values.T
    popt, pcov = curve_fit(lambda x, a, b, c: a * np.sin(x) + b * x + c, x, y, p0=[1, 0, 0])
    errors = standard_errors(problem, popt, kind="sse")
    np.testing.assert_allclose(errors.standard_errors, np.sqrt(np.diag(pcov)), rtol=1e-3)


def test_information_criteria_follow_their_definitions() -> None:
    problem = _model_problem("normal", [3.0, 0.7], 200, 8)
    y = problem.dataset.values[:, 0]
    mle = np.array([y.mean(), y.std()])
    nll = float(np.sum(0.5 * np.log(2 * np.pi * mle[1] ** 2) + (y - mle[0]) ** 2
                       / (2 * mle[1] ** 2)))
    errors = standard_errors(problem, mle)
    assert errors.fun == pytest.approx(nll, rel=1e-12)
    assert errors.aic == pytest.approx(2 * 2 + 2 * nll, rel=1e-12)
    assert errors.bic == pytest.approx(2 * np.log(200) + 2 * nll, rel=1e-12)
    np.testing.assert_allclose(np.diag(errors.correlation), 1.0)
    # sse: the Gaussian likelihood with the variance profiled out, as lmfit reports it
    decay = _decay_problem(0)
    point = np.array([2.5, 1.3, 0.4])
    sse = _decay_sse(point, decay.dataset.values)
    lsq = standard_errors(decay, point, kind="sse")
    assert lsq.aic == pytest.approx(60 * np.log(sse / 60) + 2 * 3, rel=1e-12)
    assert lsq.bic == pytest.approx(60 * np.log(sse / 60) + 3 * np.log(60), rel=1e-12)


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ProblemError, match=r"kind must be one of \('nll', 'sse'\), got 'ols'"):
        standard_errors(_decay_problem(0), [2.5, 1.3, 0.4], kind="ols")


def test_one_sided_parameters_are_named() -> None:
    problem = _decay_problem(0)
    errors = standard_errors(problem, [2.5, 1.3, 5.0], kind="sse")  # offset at its upper bound
    assert errors.one_sided == ("offset",)
    assert "one-sided differences for 'offset'" in errors.message
