"""Constraint objects and conversions (`solvers._core.constraints`), checked against scipy's."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize as so
from scipy.optimize._minimize import standardize_constraints as scipy_standardize

import solvers
from solvers import LinearConstraint, NonlinearConstraint, OptimizeWarning
from solvers._core.constraints import (ConstraintFunctions, approx_jacobian, new_to_old, old_to_new,
                                  standardize_constraints)

X0 = np.array([1.0, 2.0, 3.0])
A = np.array([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
LB, UB = np.array([0.0, -np.inf, 1.0]), np.array([0.0, 5.0, np.inf])


def _quiet(fn: Any, *args: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args)


def _nonlinear(module: Any) -> Any:
    return module.NonlinearConstraint(
        lambda x: np.array([x[0] ** 2 + x[1], x[2] * x[0], x[1]]), [1.0, 0.0, -1.0],
        [1.0, np.inf, 2.0], jac=lambda x: np.array([[2 * x[0], 1, 0], [x[2], 0, x[0]],
                                                    [0, 1, 0]]))


# -- objects ----------------------------------------------------------------------------------
def test_linear_constraint_broadcasts_scalar_limits_like_scipy() -> None:
    ours, theirs = LinearConstraint(A, -1.0, 2.0), so.LinearConstraint(A, -1.0, 2.0)
    np.testing.assert_array_equal(ours.lb, theirs.lb)
    np.testing.assert_array_equal(ours.ub, theirs.ub)
    np.testing.assert_array_equal(ours.keep_feasible, theirs.keep_feasible)
    sl, su = ours.residual(X0)
    np.testing.assert_allclose(sl, A @ X0 + 1.0)
    np.testing.assert_allclose(su, 2.0 - A @ X0)


def test_one_dimensional_a_is_one_row() -> None:
    assert LinearConstraint([1.0, 2.0], 0.0, 1.0).A.shape == (1, 2)


@pytest.mark.parametrize("bad_a", [np.ones((2, 2, 2)), [[1.0, 2.0], [3.0]]])
def test_a_of_the_wrong_shape_is_refused(bad_a: Any) -> None:
    with pytest.raises(ValueError, match="`A`"):
        LinearConstraint(bad_a)


def test_limits_not_matching_a_are_refused() -> None:
    with pytest.raises(ValueError, match="broadcastable"):
        LinearConstraint(A, [0.0, 1.0], 2.0)


def test_a_with_the_wrong_number_of_columns_is_refused_against_x0() -> None:
    con = LinearConstraint(np.ones((1, 2)), 0.0, 1.0)
    with pytest.raises(ValueError, match=r"A must be \(m, 3\)"):
        standardize_constraints(con, X0, "SLSQP")
    with pytest.raises(ValueError, match=r"A must be \(m, 3\)"):
        solvers.minimize(lambda x: x @ x, X0, method="SLSQP", constraints=con)


@pytest.mark.parametrize("make", [
    lambda: LinearConstraint(A, [0.0, 2.0, 0.0], [1.0, 1.0, 1.0]),
    lambda: NonlinearConstraint(lambda x: x, [0.0, 3.0], [1.0, 2.0]),
])
def test_lower_above_upper_is_refused_naming_the_component(make: Any) -> None:
    with pytest.raises(ValueError, match=r"lb > ub in components \[1\]"):
        make()


def test_nonlinear_constraint_keeps_scipy_defaults() -> None:
    con = NonlinearConstraint(np.sin, -1.0, 1.0)
    assert con.jac == "2-point" and con.keep_feasible is False
    assert type(con.hess).__name__ == "BFGS"
    assert con.finite_diff_rel_step is None and con.finite_diff_jac_sparsity is None


# -- dict validation ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["SLSQP", "trust-constr"])
@pytest.mark.parametrize("con, error, text", [
    ({"type": "bogus", "fun": np.sum}, ValueError, "Unknown constraint type 'bogus'"),
    ({"type": "eq"}, ValueError, "Constraint 0 has no function defined"),
    ({"fun": np.sum}, KeyError, "Constraint 0 has no type defined"),
    ({"type": 3, "fun": np.sum}, TypeError, "type must be a string"),
])
def test_bad_dicts_raise_as_scipy(method: str, con: dict[str, Any], error: type,
                                  text: str) -> None:
    with pytest.raises(error, match=text):
        standardize_constraints([con], X0, method)
    with pytest.raises(error):  # scipy raises the same exception type
        _quiet(so.minimize, np.sum, X0, (), method, None, None, None, None, [con])


def test_a_non_dict_constraint_is_refused() -> None:
    with pytest.raises(TypeError, match="Constraint 0 must be a dict"):
        standardize_constraints([(1, 2)], X0, "SLSQP")


# -- conversions -------------------------------------------------------------------------------
def _compare_old(ours: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> None:
    assert [c["type"] for c in ours] == [c["type"] for c in theirs]
    for x in (X0, X0 + 0.37, -X0):
        for mine, ref in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(mine["fun"](x), ref["fun"](x), rtol=1e-14)
            assert ("jac" in mine) == ("jac" in ref)
            if "jac" in ref:
                np.testing.assert_allclose(np.atleast_2d(mine["jac"](x)),
                                           np.atleast_2d(ref["jac"](x)), rtol=1e-14)


@pytest.mark.parametrize("module_con", ["linear", "nonlinear"])
def test_new_to_old_matches_scipy(module_con: str) -> None:
    if module_con == "linear":
        ours, theirs = LinearConstraint(A, LB, UB), so.LinearConstraint(A, LB, UB)
    else:
        ours, theirs = _nonlinear(solvers), _nonlinear(so)
    with pytest.warns(OptimizeWarning, match="Equality and inequality constraints"):
        old = new_to_old(ours, X0)
    assert len(old) == 2  # one new-style constraint became an 'eq' and an 'ineq'
    _compare_old(old, _quiet(scipy_standardize, theirs, X0, "slsqp"))


def test_new_to_old_without_jac_leaves_the_jacobian_to_differences() -> None:
    con = NonlinearConstraint(lambda x: x[:2], -1.0, 1.0)
    (ineq,) = new_to_old(con, X0)
    assert ineq["type"] == "ineq" and "jac" not in ineq
    np.testing.assert_allclose(ineq["fun"](X0), [2.0, 3.0, 0.0, -1.0])


def test_unbounded_components_are_dropped_with_scipy_warning() -> None:
    con = LinearConstraint(A[:2], [-np.inf, 0.0], [np.inf, np.inf])
    with pytest.warns(OptimizeWarning, match="unbounded above and below"):
        (ineq,) = new_to_old(con, X0)
    np.testing.assert_allclose(ineq["fun"](X0), [1.0])


def test_keep_feasible_infeasible_x0_is_refused() -> None:
    con = LinearConstraint(A[:1], 20.0, np.inf, keep_feasible=True)
    with pytest.raises(ValueError, match="`x0` is infeasible"):
        _quiet(new_to_old, con, X0)


def test_old_to_new_passes_args_and_jac() -> None:
    con = {"type": "ineq", "fun": lambda x, a: x[0] - a, "jac": lambda x, a: [1.0, 0, 0],
           "args": (0.5,)}
    new = old_to_new(con)
    assert isinstance(new, NonlinearConstraint)
    assert (new.lb, new.ub) == (0.0, np.inf)
    assert new.fun(X0) == 0.5 and new.jac(X0) == [1.0, 0, 0]
    eq = old_to_new({"type": "EQ", "fun": np.sum})
    assert (eq.lb, eq.ub, eq.jac) == (0.0, 0.0, "2-point")


def test_standardize_keeps_the_form_each_method_wants() -> None:
    lin, dct = LinearConstraint(A, 0.0, 1.0), {"type": "eq", "fun": np.sum}
    new = standardize_constraints([lin, dct], X0, "trust-constr")
    assert new[0] is lin and isinstance(new[1], NonlinearConstraint)
    old = standardize_constraints([lin, dct], X0, "SLSQP")
    assert [c["type"] for c in old] == ["ineq", "eq"] and old[1] is dct
    assert standardize_constraints(dct, X0, "SLSQP") == [dct]
    assert standardize_constraints(None, X0, "SLSQP") == []


# -- ConstraintFunctions -------------------------------------------------------------------------
def _stacked_reference(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    eq = np.array([x[0] ** 2 + x[1] - 1.0])
    ineq = np.array([x[2] * x[0], x[1] + 1.0, 2.0 - x[1], 10.0 - x @ x])
    return eq, ineq


@pytest.mark.parametrize("with_jac", [True, False])
def test_constraint_functions_stack_equalities_and_inequalities(with_jac: bool) -> None:
    cons: list[Any] = [_nonlinear(solvers), {"type": "ineq", "fun": lambda x, r: r - x @ x,
                                             "args": (10.0,)}]
    if with_jac:
        cons[1]["jac"] = lambda x, r: -2 * x
    else:
        cons[0] = NonlinearConstraint(cons[0].fun, cons[0].lb, cons[0].ub)
    cf = ConstraintFunctions(cons, X0)
    assert (cf.n_eq, cf.n_ineq) == (1, 4)
    x = np.array([0.5, -0.2, 1.5])
    eq, ineq = _stacked_reference(x)
    np.testing.assert_allclose(cf.eq(x), eq)
    np.testing.assert_allclose(cf.ineq(x), ineq)
    jac_eq = np.array([[2 * x[0], 1.0, 0.0]])
    jac_ineq = np.array([[x[2], 0, x[0]], [0, 1, 0], [0, -1, 0], -2 * x])
    tol = 1e-12 if with_jac else 1e-6
    np.testing.assert_allclose(cf.eq_jac(x), jac_eq, atol=tol)
    np.testing.assert_allclose(cf.ineq_jac(x), jac_ineq, atol=tol)
    assert cf.violation(x) == pytest.approx(max(abs(eq[0]), 0.0))
    assert cf.violation(np.array([0.0, 1.0, 1.0])) == 0.0


def test_violation_counts_the_worst_inequality() -> None:
    cf = ConstraintFunctions([{"type": "ineq", "fun": lambda x: np.array([x[0], -3.0 + x[1]])}],
                             np.zeros(2))
    assert cf.violation(np.array([-1.0, 1.0])) == pytest.approx(2.0)


def test_no_constraints_give_empty_stacks() -> None:
    cf = ConstraintFunctions([], X0)
    assert cf.eq(X0).shape == (0,) and cf.ineq_jac(X0).shape == (0, 3)
    assert cf.violation(X0) == 0.0


@pytest.mark.parametrize("method", ["2-point", "3-point", "cs"])
def test_finite_difference_jacobian_respects_bounds(method: str) -> None:
    fun = lambda x: np.array([np.sin(x[0]) * x[1], x[1] ** 3])  # noqa: E731
    x = np.array([1.0, 2.0])
    exact = np.array([[np.cos(1.0) * 2.0, np.sin(1.0)], [0.0, 12.0]])
    seen: list[np.ndarray] = []

    def recording(z: np.ndarray) -> np.ndarray:
        seen.append(np.real(z).copy())
        return fun(z)

    jac = approx_jacobian(recording, x, fun(x), method=method, lb=np.array([0.0, 0.0]),
                          ub=np.array([1.0, 2.0]))
    np.testing.assert_allclose(jac, exact, rtol=1e-5)
    assert all(np.all(z <= [1.0, 2.0]) for z in seen)  # steps went down from the upper bound
