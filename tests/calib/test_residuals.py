"""Residual problems in calib: the sum-of-squares wrappers, least-squares starts (statuses,
failures, traces, log parameters, lm's clipping) and curve_fit's standard errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import curve_fit, least_squares as scipy_least_squares

from calib.datasets import Dataset
from calib.errors import ProblemError
from calib.fixed import FixedLayout
from calib.models import get_model
from calib.parameters import Parameter
from calib.problem import Problem
from calib.residuals import ResidualCallables, check_least_squares_option
from calib.run import run_start
from calib.status import StartStatus
from calib.uncertainty import standard_errors

T = np.linspace(0.0, 5.0, 40)
Y = 3.0 * np.exp(-0.7 * T) + 0.05 * np.random.default_rng(0).standard_normal(T.size)
DATA = Dataset(name="d0", values=np.column_stack([T, Y]), columns=("t", "y"))
PARAMETERS = (Parameter("a", 0.1, 10.0), Parameter("k", 0.01, 5.0, log=True))


def decay(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    return np.asarray(data[:, 1] - params[0] * np.exp(-params[1] * data[:, 0]))


def decay_jacobian(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    e = np.exp(-params[1] * data[:, 0])
    return np.column_stack([-e, params[0] * data[:, 0] * e])


def raises(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    raise RuntimeError("model blew up")


def _problem(method: str, residuals=decay, jacobian=None, trace: bool = False,  # type: ignore[no-untyped-def]
             options: dict[str, object] | None = None) -> Problem:
    callables = ResidualCallables(residuals, jacobian=jacobian)
    user = callables.sum_of_squares()
    return Problem(objective=user.objective, parameters=PARAMETERS, dataset=DATA, method=method,
                   residuals=residuals, residuals_jacobian=jacobian, gradient=user.gradient,
                   trace=trace, options=options or {})


@pytest.mark.parametrize("method", ["trf", "dogbox", "lm"])
def test_least_squares_start_matches_scipy_and_stores_the_sum_of_squares(method: str) -> None:
    outcome = run_start(_problem(method, trace=True), [1.0, 1.0], 0)
    reference = scipy_least_squares(lambda p: decay(p, DATA.values), [1.0, 1.0], method=method)
    assert outcome.status is StartStatus.CONVERGED and outcome.success
    np.testing.assert_allclose(outcome.x, reference.x, rtol=1e-6)
    assert outcome.fun == pytest.approx(2.0 * reference.cost, rel=1e-9)
    r = decay(outcome.x, DATA.values)
    assert outcome.fun == pytest.approx(float(r @ r), rel=1e-9)
    assert outcome.trace is not None and outcome.trace.f[-1] == pytest.approx(outcome.fun)
    assert outcome.nfev >= reference.nfev


def test_user_jacobian_is_chained_through_the_log_parameter() -> None:
    plain = run_start(_problem("trf"), [1.0, 1.0], 0)
    analytic = run_start(_problem("trf", jacobian=decay_jacobian), [1.0, 1.0], 0)
    np.testing.assert_allclose(analytic.x, plain.x, rtol=1e-7)
    assert analytic.nfev < plain.nfev


def test_minimize_methods_use_the_sum_of_squares_and_its_gradient() -> None:
    lbfgsb = run_start(_problem("L-BFGS-B", jacobian=decay_jacobian), [1.0, 1.0], 0)
    trf = run_start(_problem("trf"), [1.0, 1.0], 0)
    assert lbfgsb.fun == pytest.approx(trf.fun, rel=1e-7)


def test_a_raising_residual_function_fails_the_start_with_its_message() -> None:
    outcome = run_start(_problem("trf", residuals=raises), [1.0, 1.0], 3)
    assert outcome.status is StartStatus.FAILED and outcome.start == 3
    assert outcome.message == "RuntimeError: model blew up"


def test_max_nfev_stop_is_not_converged() -> None:
    outcome = run_start(_problem("trf", options={"max_nfev": 2}), [1.0, 1.0], 0)
    assert outcome.status is StartStatus.NOT_CONVERGED and not outcome.success


def test_lm_never_leaves_the_box() -> None:
    # the unconstrained optimum has a = 3 > upper = 2: lm's points are clipped into the box
    parameters = (Parameter("a", 0.1, 2.0), Parameter("k", 0.01, 5.0, log=True))
    user = ResidualCallables(decay).sum_of_squares()
    problem = Problem(objective=user.objective, parameters=parameters, dataset=DATA,
                      method="lm", residuals=decay)
    outcome = run_start(problem, [1.0, 1.0], 0)
    assert np.all(outcome.x <= problem.upper) and np.all(outcome.x >= problem.lower)
    assert outcome.x[0] == pytest.approx(2.0)


def test_least_squares_method_without_residuals_is_refused() -> None:
    with pytest.raises(ProblemError, match="least-squares method: it needs residuals"):
        Problem(objective=lambda p, d: 0.0, parameters=PARAMETERS, dataset=DATA, method="trf")


def test_residual_standard_errors_equal_curve_fits() -> None:
    problem = _problem("trf")
    x = run_start(problem, [1.0, 1.0], 0).x
    errors = standard_errors(problem, x, kind="sse")
    _, pcov = curve_fit(lambda t, a, k: a * np.exp(-k * t), T, Y, p0=[1.0, 1.0])
    np.testing.assert_allclose(errors.standard_errors, np.sqrt(np.diag(pcov)), rtol=1e-4)
    assert errors.n_observations == T.size and errors.positive_definite
    assert "2 J^T J" in errors.message


def test_fixed_parameters_keep_the_free_columns_of_the_jacobian() -> None:
    layout = FixedLayout.of(("a", "k"), {"a": 3.0})
    callables = ResidualCallables(decay, jacobian=decay_jacobian).with_fixed(layout)
    assert callables.jacobian is not None
    jac = callables.jacobian(np.array([0.7]), DATA.values)
    np.testing.assert_allclose(jac, decay_jacobian(np.array([3.0, 0.7]), DATA.values)[:, 1:])
    gradient = callables.sum_of_squares().gradient
    assert gradient is not None
    r = decay(np.array([3.0, 0.7]), DATA.values)
    np.testing.assert_allclose(gradient(np.array([0.7]), DATA.values), 2.0 * jac.T @ r)


@pytest.mark.parametrize("name", ["linear", "sinusoid"])
def test_builtin_least_squares_models_give_residuals_whose_squares_are_the_objective(
        name: str) -> None:
    model = get_model(name)
    rng = np.random.default_rng(5)
    truth = np.array([p.lower + 0.3 * (p.upper - p.lower) for p in model.parameters])
    data = model.simulate(truth, 30, rng)
    points = truth + rng.standard_normal((4, truth.size))
    assert model.residuals is not None and model.residuals_batch is not None
    batch = model.residuals_batch(points, data)
    for point, row in zip(points, batch):
        np.testing.assert_allclose(row, model.residuals(point, data))
        assert float(row @ row) == pytest.approx(model.objective(point, data), rel=1e-10)


@pytest.mark.parametrize(("name", "value", "ok"), [
    ("loss", "huber", True), ("loss", "l2", False), ("x_scale", "jac", True),
    ("x_scale", 0.0, False), ("max_nfev", 10, True), ("max_nfev", 1.5, False),
    ("ftol", True, False), ("maxiter", 5, False)])
def test_least_squares_options_are_checked(name: str, value: object, ok: bool) -> None:
    assert (check_least_squares_option(name, value) is None) is ok
