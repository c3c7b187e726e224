"""The built-in models: registry, objectives against independent formulas, batch == scalar,
bad input, pickling, and recovery of the true parameters from simulated data."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from calib.errors import DatasetError, ProblemError
from calib.models import BUILTIN_MODELS, Model, get_model
from calib.models import ou as ou_module
from solvers import minimize

EXPECTED = {
    "linear": (("a", "b"), ("x", "y")),
    "normal": (("mu", "sigma"), ("y",)),
    "sinusoid": (("a", "b", "c"), ("x", "y")),
    "ou": (("theta", "mu", "sigma"), ("t", "x")),
    "garch11": (("omega", "alpha", "beta"), ("r",)),
}


@dataclass(frozen=True)
class Recovery:
    """A recovery case: truth, series length, and the absolute tolerance per parameter.

    Tolerances are about 4 standard deviations of the estimator, measured with
    scipy.optimize over 100 simulated datasets (30 for garch11) of the same length.
    """

    model: str
    truth: tuple[float, ...]
    n_points: int
    tolerance: tuple[float, ...]


RECOVERY = {c.model: c for c in (
    Recovery("linear", (2.0, 1.0), 200, (0.1, 0.6)),
    Recovery("normal", (1.0, 2.0), 1000, (0.25, 0.2)),
    Recovery("sinusoid", (2.0, 0.5, 1.0), 200, (0.22, 0.045, 0.3)),
    Recovery("ou", (1.0, 0.5, 0.3), 5000, (0.3, 0.06, 0.015)),
    Recovery("garch11", (0.05, 0.1, 0.85), 5000, (0.04, 0.045, 0.07)),
)}


def _fit(model: Model, data: np.ndarray, start: np.ndarray) -> np.ndarray:
    """Minimise the model's objective in internal (log where flagged) units from ``start``
    (clipped into the bounds); return the estimate in natural units."""
    params = model.parameters

    def natural(z: np.ndarray) -> np.ndarray:
        return np.array([p.to_natural(v) for p, v in zip(params, z)])

    start = np.clip(start, [p.lower for p in params], [p.upper for p in params])
    z0 = np.array([p.to_internal(v) for p, v in zip(params, start)])
    method = "L-BFGS-B"
    bounds = None if method == "BFGS" else [(p.internal_lower, p.internal_upper) for p in params]
    options = {"maxiter": 5000, "xatol": 1e-6, "fatol": 1e-8} if method == "Nelder-Mead" else {}
    result = minimize(lambda z: model.objective(natural(z), data), z0, method=method,
                      bounds=bounds, options=options)
    # success is not asserted: BFGS (a fallback) may stop on "precision loss" at the minimum;
    # the callers assert where the estimate is, which is what matters
    return natural(result.x)


def _random_batch(model: Model, k: int, seed: int) -> np.ndarray:
    """``k`` parameter vectors drawn uniformly inside the default bounds (log-uniform if log)."""
    rng = np.random.default_rng(seed)
    lo = np.array([p.internal_lower for p in model.parameters])
    hi = np.array([p.internal_upper for p in model.parameters])
    z = rng.uniform(lo, hi, size=(k, lo.size))
    return np.column_stack([p.to_natural(z[:, j]) for j, p in enumerate(model.parameters)])


# -- registry ----------------------------------------------------------------------------------
def test_builtin_names() -> None:
    assert BUILTIN_MODELS == ("linear", "normal", "sinusoid", "ou", "garch11")


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_model_declares_parameters_and_columns(name: str) -> None:
    model = get_model(name)
    names, columns = EXPECTED[name]
    assert model.name == name
    assert model.parameter_names == names
    assert model.columns == columns


def test_default_log_flags_and_positive_bounds() -> None:
    logs = {m: tuple(p.log for p in get_model(m).parameters) for m in BUILTIN_MODELS}
    assert logs == {"linear": (False, False), "normal": (False, True),
                    "sinusoid": (False, False, False), "ou": (True, False, True),
                    "garch11": (True, False, False)}
    assert get_model("normal").parameters[1].lower > 0
    garch = get_model("garch11").parameters
    assert [(p.lower, p.upper) for p in garch[1:]] == [(0.0, 1.0), (0.0, 1.0)]


def test_unknown_model_lists_builtins() -> None:
    with pytest.raises(ProblemError, match="'gauss'.*linear, normal, sinusoid, ou, garch11"):
        get_model("gauss")


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_model_pickles(name: str) -> None:
    model = get_model(name)
    clone = pickle.loads(pickle.dumps(model))
    data = model.simulate(np.array(RECOVERY[name].truth), 50, np.random.default_rng(1))
    truth = np.array(RECOVERY[name].truth)
    assert clone.objective(truth, data) == model.objective(truth, data)


# -- objectives --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_batch_equals_scalar_row_by_row(name: str) -> None:
    model = get_model(name)
    data = model.simulate(np.array(RECOVERY[name].truth), 300, np.random.default_rng(5))
    batch = _random_batch(model, 16, seed=11)
    batch[0] = RECOVERY[name].truth
    values = model.objective_batch(batch, data)
    assert values.shape == (16,)
    expected = np.array([model.objective(row, data) for row in batch])
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_batch_of_one_from_a_vector(name: str) -> None:
    model = get_model(name)
    truth = np.array(RECOVERY[name].truth)
    data = model.simulate(truth, 40, np.random.default_rng(2))
    np.testing.assert_allclose(model.objective_batch(truth, data), [model.objective(truth, data)],
                               rtol=1e-12)


def test_least_squares_objectives_by_hand() -> None:
    data = np.array([[0.0, 1.0], [1.0, 2.5], [2.0, 5.5]])
    # residuals of y - (2x + 1): 0, -0.5, 0.5
    assert get_model("linear").objective(np.array([2.0, 1.0]), data) == pytest.approx(0.5)
    x = data[:, 0]
    expected = np.sum((data[:, 1] - (1.5 * np.sin(x) + 0.5 * x - 0.25)) ** 2)
    assert get_model("sinusoid").objective(np.array([1.5, 0.5, -0.25]), data) == pytest.approx(
        expected, rel=1e-14)


def test_normal_is_scipy_negative_log_likelihood() -> None:
    y = np.random.default_rng(3).normal(1.0, 2.0, 100)
    expected = -stats.norm.logpdf(y, 0.7, 1.9).sum()
    value = get_model("normal").objective(np.array([0.7, 1.9]), y[:, None])
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("times", ["constant", "varying"])
def test_ou_is_exact_transition_likelihood(times: str) -> None:
    rng = np.random.default_rng(4)
    t = (0.25 * np.arange(60) if times == "constant"
         else np.cumsum(rng.exponential(0.3, 60)))
    theta, mu, sigma = 0.8, -0.2, 0.4
    data = ou_module.simulate_at(np.array([theta, mu, sigma]), t, rng)
    x, dt = data[:, 1], np.diff(t)
    mean = mu + (x[:-1] - mu) * np.exp(-theta * dt)
    sd = sigma * np.sqrt((1 - np.exp(-2 * theta * dt)) / (2 * theta))
    expected = -stats.norm.logpdf(x[1:], mean, sd).sum()
    assert get_model("ou").objective(np.array([theta, mu, sigma]), data) == pytest.approx(
        expected, rel=1e-12)


def test_garch_matches_reference_recursion() -> None:
    r = np.random.default_rng(6).standard_normal(80)
    omega, alpha, beta = 0.1, 0.2, 0.7
    h = np.empty(r.size)
    h[0] = np.mean(r**2)
    for t in range(1, r.size):
        h[t] = omega + alpha * r[t - 1] ** 2 + beta * h[t - 1]
    expected = -stats.norm.logpdf(r, 0.0, np.sqrt(h)).sum()
    value = get_model("garch11").objective(np.array([omega, alpha, beta]), r[:, None])
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(("name", "bad"), [
    ("normal", (0.0, 0.0)), ("normal", (0.0, -1.0)),
    ("ou", (0.0, 0.0, 1.0)), ("ou", (1.0, 0.0, -0.5)),
    ("garch11", (-10.0, 0.1, 0.8)),  # h_1 = omega + ... < 0
])
def test_invalid_parameters_give_inf_in_scalar_and_batch(name: str, bad: tuple) -> None:
    model = get_model(name)
    truth = np.array(RECOVERY[name].truth)
    data = model.simulate(truth, 50, np.random.default_rng(7))
    assert model.objective(np.array(bad), data) == np.inf
    values = model.objective_batch(np.array([truth, bad]), data)
    assert np.isfinite(values[0]) and values[1] == np.inf


def test_ou_rejects_times_that_do_not_increase() -> None:
    data = np.array([[0.0, 1.0], [1.0, 1.1], [1.0, 1.2], [2.0, 1.0]])
    with pytest.raises(DatasetError, match=r"row 2 has t=1\.0 after t=1\.0 in row 1"):
        get_model("ou").objective(np.array([1.0, 0.0, 1.0]), data)
    with pytest.raises(DatasetError, match="strictly increasing"):
        get_model("ou").objective_batch(np.array([[1.0, 0.0, 1.0]]), data)


def test_wrong_shapes_are_named() -> None:
    model = get_model("linear")
    with pytest.raises(ProblemError, match=r"takes 2 parameters, got shape \(3,\)"):
        model.objective(np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(DatasetError, match=r"shape \(n_obs, 2\), got shape \(4, 3\)"):
        model.objective(np.zeros(2), np.zeros((4, 3)))
    with pytest.raises(ProblemError, match=r"\(k, 2\) batch"):
        model.objective_batch(np.zeros((4, 3)), np.zeros((4, 2)))


# -- simulators --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_simulator_shape_and_determinism(name: str) -> None:
    model = get_model(name)
    truth = np.array(RECOVERY[name].truth)
    first = model.simulate(truth, 123, np.random.default_rng(9))
    again = model.simulate(truth, 123, np.random.default_rng(9))
    other = model.simulate(truth, 123, np.random.default_rng(10))
    assert first.shape == (123, len(model.columns)) and first.dtype == np.float64
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_ou_simulator_uses_its_time_step() -> None:
    data = get_model("ou").simulate(np.array([1.0, 0.0, 1.0]), 5, np.random.default_rng(0))
    np.testing.assert_allclose(data[:, 0], ou_module.DT * np.arange(5))


# -- recovery ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUILTIN_MODELS)
def test_recovers_truth_from_simulated_data(name: str) -> None:
    case = RECOVERY[name]
    model = get_model(name)
    truth = np.array(case.truth)
    data = model.simulate(truth, case.n_points, np.random.default_rng(2024))
    estimate = _fit(model, data, start=1.3 * truth)
    assert np.all(np.abs(estimate - truth) <= case.tolerance), (estimate, truth)


def test_linear_fit_reaches_least_squares_solution() -> None:
    model = get_model("linear")
    data = model.simulate(np.array([2.0, 1.0]), 200, np.random.default_rng(8))
    design = np.column_stack([data[:, 0], np.ones(len(data))])
    exact = np.linalg.lstsq(design, data[:, 1], rcond=None)[0]
    np.testing.assert_allclose(_fit(model, data, np.array([0.5, -1.0])), exact, atol=1e-3)


def test_normal_fit_reaches_sample_mean_and_std() -> None:
    model = get_model("normal")
    data = model.simulate(np.array([1.0, 2.0]), 500, np.random.default_rng(12))
    estimate = _fit(model, data, np.array([0.0, 1.0]))
    np.testing.assert_allclose(estimate, [data.mean(), data.std()], atol=1e-3)


def test_ou_recovers_truth_with_irregular_time_steps() -> None:
    rng = np.random.default_rng(13)
    times = np.cumsum(rng.uniform(0.02, 0.18, 5000))  # mean step 0.1, like the simulator
    truth = np.array(RECOVERY["ou"].truth)
    data = ou_module.simulate_at(truth, times, rng)
    estimate = _fit(get_model("ou"), data, start=1.3 * truth)
    assert np.all(np.abs(estimate - truth) <= RECOVERY["ou"].tolerance), estimate
