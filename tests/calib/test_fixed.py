"""Fixed parameters and user gradients at the calib level, and their spec fields."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from calib.datasets import Dataset
from calib.derivatives import central_gradient
from calib.errors import ProblemError
from calib.fixed import FixedGradient, FixedLayout, FixedObjective, UserCallables
from calib.gradients import GradientError, analytic_derivatives, check_gradient
from calib.parameters import Parameter
from calib.problem import Problem
from calib.run import run_start
from jobs.errors import SpecError
from jobs.spec import SweepSpec, parse_spec
from solvers import get_method

X = np.linspace(0.0, 4.0, 40)
Y = 2.5 * np.exp(-1.3 * X) + 0.5 + 0.01 * np.sin(7.0 * X)
DATA = np.column_stack([X, Y])


def decay_sse(params: np.ndarray, data: np.ndarray) -> float:
    a, b, c = params
    r = a * np.exp(-b * data[:, 0]) + c - data[:, 1]
    return float(r @ r)


def decay_grad(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    a, b, c = params
    e = np.exp(-b * data[:, 0])
    r = a * e + c - data[:, 1]
    return np.array([2 * r @ e, 2 * r @ (-a * data[:, 0] * e), 2 * r.sum()])


def _dataset() -> Dataset:
    return Dataset(name="decay", values=DATA, columns=("x", "y"))


def _problem(fixed: dict[str, float] | None = None, method: str = "L-BFGS-B",
             gradient: bool = True) -> Problem:
    names = ("a", "b", "c")
    params = {"a": Parameter("a", 0.1, 10.0), "b": Parameter("b", 0.01, 10.0, log=True),
              "c": Parameter("c", -2.0, 2.0)}
    layout = FixedLayout.of(names, fixed) if fixed else None
    user = UserCallables(decay_sse, gradient=decay_grad if gradient else None).with_fixed(layout)
    return Problem(objective=user.objective, gradient=user.gradient, dataset=_dataset(),
                   parameters=tuple(params[n] for n in names if n not in (fixed or {})),
                   method=method)


# -- FixedLayout and the wrappers ---------------------------------------------------------------
def test_layout_inserts_fixed_values_and_keeps_free_components() -> None:
    layout = FixedLayout.of(("a", "b", "c", "d"), {"b": 7.0, "d": -1.0})
    assert layout.free_index == (0, 2) and layout.fixed_index == (1, 3)
    np.testing.assert_array_equal(layout.full([1.0, 3.0]), [1.0, 7.0, 3.0, -1.0])
    np.testing.assert_array_equal(layout.full([[1.0, 3.0], [5.0, 6.0]]),
                                  [[1.0, 7.0, 3.0, -1.0], [5.0, 7.0, 6.0, -1.0]])
    np.testing.assert_array_equal(layout.free([[1.0, 7.0, 3.0, -1.0]]), [[1.0, 3.0]])


def test_layout_refuses_every_parameter_fixed_and_unknown_names() -> None:
    with pytest.raises(ProblemError, match="every parameter is fixed"):
        FixedLayout.of(("a",), {"a": 1.0})
    with pytest.raises(ProblemError, match="'z' are not parameters"):
        FixedLayout.of(("a", "b"), {"z": 1.0})


def test_wrapped_objective_and_gradient_equal_the_full_ones_at_the_fixed_value() -> None:
    layout = FixedLayout.of(("a", "b", "c"), {"c": 0.5})
    free = np.array([2.0, 1.1])
    full = np.array([2.0, 1.1, 0.5])
    assert FixedObjective(decay_sse, layout)(free, DATA) == decay_sse(full, DATA)
    np.testing.assert_array_equal(FixedGradient(decay_grad, layout)(free, DATA),
                                  decay_grad(full, DATA)[:2])


# -- Problem.internal_gradient -------------------------------------------------------------------
def test_internal_gradient_applies_the_chain_rule_of_the_log_scale() -> None:
    problem = _problem()
    z = problem.to_internal([2.0, 1.1, 0.4])
    np.testing.assert_allclose(problem.internal_gradient(z),
                               central_gradient(problem.internal_objective, z), rtol=1e-6)
    batch = problem.to_internal([[2.0, 1.1, 0.4], [1.0, 0.3, -0.2]])
    np.testing.assert_allclose(problem.internal_gradient_batch(batch)[1],
                               central_gradient(problem.internal_objective, batch[1]), rtol=1e-6)


def test_internal_gradient_of_a_problem_without_gradient_is_refused() -> None:
    with pytest.raises(ProblemError, match="no gradient"):
        _problem(gradient=False).internal_gradient([1.0, 0.0, 0.0])


def test_fixed_problem_reaches_the_constrained_minimum_with_the_analytic_gradient() -> None:
    with_grad = run_start(_problem({"c": 0.5}), [1.0, 0.5], 0)
    without = run_start(_problem({"c": 0.5}, gradient=False), [1.0, 0.5], 0)
    assert with_grad.status == without.status == "converged"
    np.testing.assert_allclose(with_grad.x, without.x, rtol=1e-4)
    assert with_grad.fun == pytest.approx(without.fun, rel=1e-6)
    assert with_grad.nfev < without.nfev  # finite differences cost 2 p evaluations per gradient


@pytest.mark.parametrize("method", ["Newton-CG", "dogleg", "trust-ncg", "BFGS"])
def test_methods_taking_jac_get_the_analytic_gradient(method: str) -> None:
    problem = _problem(method=method)
    outcome = run_start(problem, [2.0, 1.0, 0.4], 0)
    reference = run_start(_problem(method="L-BFGS-B", gradient=False), [2.0, 1.0, 0.4], 0)
    assert outcome.fun == pytest.approx(reference.fun, rel=1e-5), outcome.message
    np.testing.assert_allclose(outcome.x, reference.x, rtol=1e-3)


def test_analytic_derivatives_per_method_kind() -> None:
    def grad(z: np.ndarray) -> np.ndarray:
        return 2.0 * z

    assert analytic_derivatives(get_method("Nelder-Mead"), grad) == {}
    assert analytic_derivatives(get_method("L-BFGS-B"), grad) == {"jac": grad}
    assert analytic_derivatives(get_method("Newton-CG"), grad) == {"jac": grad}
    assert analytic_derivatives(get_method("trust-ncg"), grad)["hess"] == "2-point"
    hess = analytic_derivatives(get_method("dogleg"), grad)["hess"]
    np.testing.assert_allclose(hess(np.array([1.0, -3.0])), 2.0 * np.eye(2), atol=1e-6)


def test_check_gradient_names_the_shape_and_the_non_finite_value() -> None:
    check_gradient(decay_grad, np.array([1.0, 1.0, 0.0]), DATA)
    with pytest.raises(GradientError, match=r"\[model\].gradient must return shape \(3,\)"):
        check_gradient(lambda p, d: np.zeros(2), np.array([1.0, 1.0, 0.0]), DATA)
    with pytest.raises(GradientError, match="gradient_vectorized must return finite values"):
        check_gradient(lambda p, d: np.full((1, 3), np.nan), np.array([1.0, 1.0, 0.0]), DATA,
                       batched=True)
    with pytest.raises(GradientError, match="raised ZeroDivisionError"):
        check_gradient(lambda p, d: 1 / 0, np.array([1.0, 1.0, 0.0]), DATA)


# -- the spec fields ------------------------------------------------------------------------------
def _tables(parameters: dict[str, Any], **model: Any) -> dict[str, Any]:
    return {"sweep": {"name": "t"}, "model": {"objective": "m:f", **model},
            "parameters": parameters, "data": {"files": "d.csv", "columns": ["x", "y"]},
            "starts": {"n": 4}}


def _spec(parameters: dict[str, Any], tmp_path: Path, **model: Any) -> SweepSpec:
    return parse_spec(_tables(parameters, **model), tmp_path)


def test_fixed_alone_or_within_bounds_is_held_and_left_out_of_the_solve(tmp_path: Path) -> None:
    spec = _spec({"a": {"lower": 0, "upper": 1}, "b": {"fixed": 0.9},
                  "c": {"lower": 0, "upper": 2, "fixed": 1.5}}, tmp_path)
    assert spec.fixed_values == {"b": 0.9, "c": 1.5}
    assert spec.free_parameter_names == ("a",) and spec.parameter_names == ("a", "b", "c")
    assert [p.name for p in spec.parameter_objects()] == ["a"]
    again = SweepSpec.from_dict(spec.to_dict())
    assert again == spec and again.hash == spec.hash


def test_a_spec_without_fixed_keeps_its_stored_form(tmp_path: Path) -> None:
    spec = _spec({"a": {"lower": 0, "upper": 1}}, tmp_path)
    assert spec.to_dict()["parameters"] == [{"name": "a", "lower": 0.0, "upper": 1.0,
                                             "log": False}]
    assert "gradient" not in spec.to_dict()["model"]


@pytest.mark.parametrize("parameters, match", [
    ({"a": {"lower": 0, "upper": 1}, "b": {"lower": 0, "upper": 1, "fixed": 2}},
     r"\[parameters\].b.fixed must lie within the bounds \[0.0, 1.0\], got 2.0"),
    ({"a": {"fixed": 1}, "b": {"fixed": 2}}, "fixes every parameter"),
    ({"a": {"lower": 0, "upper": 1}, "b": {"fixed": "x"}}, r"\[parameters\].b.fixed must be"),
])
def test_bad_fixed_values_are_spec_errors(tmp_path: Path, parameters: dict[str, Any],
                                          match: str) -> None:
    with pytest.raises(SpecError, match=match):
        _spec(parameters, tmp_path)


def test_fixed_with_a_built_in_model_must_fit_its_default_bounds(tmp_path: Path) -> None:
    tables = {"sweep": {"name": "t"}, "model": {"builtin": "ou"},
              "parameters": {"mu": {"fixed": 0.5}},
              "data": {"simulate": {"datasets": 1, "points": 50,
                                    "truth": {"theta": 1.0, "mu": 0.5, "sigma": 0.3}}},
              "starts": {"n": 2}}
    assert parse_spec(tables, tmp_path).fixed_values == {"mu": 0.5}
    tables["parameters"] = {"sigma": {"fixed": -1.0}}
    with pytest.raises(SpecError, match="default bounds"):
        parse_spec(tables, tmp_path)


def test_gradient_fields_need_a_user_objective_and_their_order(tmp_path: Path) -> None:
    spec = _spec({"a": {"lower": 0, "upper": 1}}, tmp_path, gradient="m:g",
                 gradient_vectorized="m:gv")
    assert (spec.model.gradient, spec.model.gradient_vectorized) == ("m:g", "m:gv")
    with pytest.raises(SpecError, match="gradient_vectorized needs"):
        _spec({"a": {"lower": 0, "upper": 1}}, tmp_path, gradient_vectorized="m:gv")
    with pytest.raises(SpecError, match=r"\[model\].gradient must be an import path"):
        _spec({"a": {"lower": 0, "upper": 1}}, tmp_path, gradient="no colon")
    tables = {"sweep": {"name": "t"}, "model": {"builtin": "ou", "gradient": "m:g"},
              "data": {"simulate": {"datasets": 1, "points": 50,
                                    "truth": {"theta": 1.0, "mu": 0.5, "sigma": 0.3}}},
              "starts": {"n": 2}}
    with pytest.raises(SpecError, match="only for a user objective"):
        parse_spec(tables, tmp_path)


def test_fixed_parameters_with_constraints_are_refused(tmp_path: Path) -> None:
    tables = _tables({"a": {"lower": 0, "upper": 1}, "b": {"lower": 0, "upper": 1},
                      "c": {"fixed": 0.5}})
    tables["constraints"] = [{"expr": "a + b <= 1"}]
    with pytest.raises(SpecError, match="cannot be combined with fixed parameters"):
        parse_spec(tables, tmp_path)
