"""scipy's own `Bounds`, `LinearConstraint`, `NonlinearConstraint`, `BFGS()` and `SR1()` passed to
our `minimize` / `minimize_scalar` unchanged, for every method family that accepts them.

Each run is compared with `scipy.optimize.minimize` on the same objects (fresh instances per run:
a strategy is stateful): same success, x within tolerance, and the same evaluation count where
our iterates follow scipy's (every family here except COBYLA and COBYQA, whose documented
differences change the path; their counts must stay within a third of scipy's).  Objects that
only look like scipy's (plain classes with the attributes) and a user strategy subclassing
scipy's `HessianUpdateStrategy` are accepted too, and driven through their own methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.optimize as so
import scipy.sparse

import solvers

FloatArray = Any


def objective(x: FloatArray) -> float:
    """``(x0 - 1)^2 + (x1 - 2.5)^2`` (scipy's tutorial problem)."""
    return float((x[0] - 1.0) ** 2 + (x[1] - 2.5) ** 2)


def gradient(x: FloatArray) -> FloatArray:
    return np.array([2.0 * (x[0] - 1.0), 2.0 * (x[1] - 2.5)])


A_TUTORIAL = np.array([[1.0, -2.0], [-1.0, -2.0], [-1.0, 2.0]])
X0 = np.array([2.0, 0.0])


def linear() -> so.LinearConstraint:
    return so.LinearConstraint(A_TUTORIAL, [-2.0, -6.0, -2.0], np.inf)


def disc() -> so.NonlinearConstraint:
    return so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, -np.inf, 4.0)


def disc_with_jac() -> so.NonlinearConstraint:
    return so.NonlinearConstraint(lambda x: np.array([x[0] ** 2 + x[1] ** 2]), -np.inf, 4.0,
                                  jac=lambda x: np.array([[2.0 * x[0], 2.0 * x[1]]]))


def positive_quadrant() -> so.Bounds:
    return so.Bounds([0.0, 0.0], [np.inf, np.inf])


CONSTRAINTS: dict[str, Callable[[], Any]] = {
    "linear": linear,
    "nonlinear": disc,
    "nonlinear-jac": disc_with_jac,
    "list": lambda: [linear(), disc()],
}
CONSTRAINED_METHODS = ("SLSQP", "trust-constr", "COBYLA", "COBYQA")
#: methods whose iterates differ from scipy's by design (docs/solvers.md): counts only comparable
PATH_DIFFERS = {"COBYLA", "COBYQA"}


def _both(method: str, make_kwargs: Callable[[], dict[str, Any]], fun: Callable[..., Any],
          x0: Any) -> tuple[Any, Any]:
    ours = solvers.minimize(fun, x0, method=method, **make_kwargs())
    theirs = so.minimize(fun, x0, method=method, **make_kwargs())
    return ours, theirs


def _assert_like_scipy(ours: Any, theirs: Any, method: str, *, atol: float) -> None:
    assert ours.success == theirs.success, ours.message
    np.testing.assert_allclose(ours.x, theirs.x, atol=atol)
    if method in PATH_DIFFERS:
        assert abs(ours.nfev - theirs.nfev) <= theirs.nfev / 3, (ours.nfev, theirs.nfev)
    else:
        assert ours.nfev == theirs.nfev


@pytest.mark.parametrize("form", sorted(CONSTRAINTS))
@pytest.mark.parametrize("method", CONSTRAINED_METHODS)
def test_scipy_constraints_and_bounds(method: str, form: str) -> None:
    def kwargs() -> dict[str, Any]:
        extra = {"jac": gradient} if method in ("SLSQP", "trust-constr") else {}
        return {"bounds": positive_quadrant(), "constraints": CONSTRAINTS[form](), **extra}

    ours, theirs = _both(method, kwargs, objective, X0)
    _assert_like_scipy(ours, theirs, method, atol=1e-3)
    assert ours.success


BOUNDED_METHODS = ("L-BFGS-B", "TNC", "Nelder-Mead", "Powell", "SLSQP", "trust-constr",
                   "COBYLA", "COBYQA")


@pytest.mark.parametrize("method", BOUNDED_METHODS)
def test_scipy_bounds_for_every_bounded_method(method: str) -> None:
    def kwargs() -> dict[str, Any]:
        return {"bounds": so.Bounds([0.0, 0.0], [0.8, 2.0])}

    ours, theirs = _both(method, kwargs, objective, [0.5, 0.5])
    _assert_like_scipy(ours, theirs, method, atol=1e-4)
    np.testing.assert_allclose(ours.x, [0.8, 2.0], atol=1e-4)  # the corner nearest (1, 2.5)


def test_scipy_bounds_keep_feasible_and_scalar_broadcast() -> None:
    bounds = so.Bounds(0.0, 0.8, keep_feasible=True)  # scalars broadcast to both variables
    ours = solvers.minimize(objective, [0.5, 0.5], method="L-BFGS-B", bounds=bounds)
    theirs = so.minimize(objective, [0.5, 0.5], method="L-BFGS-B", bounds=bounds)
    np.testing.assert_allclose(ours.x, [0.8, 0.8], atol=1e-8)
    assert ours.nfev == theirs.nfev


def test_minimize_scalar_bounded_takes_scipy_bounds() -> None:
    fun = lambda x: (x - 2.0) ** 2  # noqa: E731
    ours = solvers.minimize_scalar(fun, bounds=so.Bounds(0.0, 1.0), method="bounded")
    pair = solvers.minimize_scalar(fun, bounds=(0.0, 1.0), method="bounded")
    theirs = so.minimize_scalar(fun, bounds=(0.0, 1.0), method="bounded")
    assert ours.x == pair.x and ours.nfev == pair.nfev
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-10)
    assert ours.nfev == theirs.nfev


def test_minimize_scalar_refuses_bounds_object_of_two_variables() -> None:
    with pytest.raises(ValueError, match="one lower and one upper bound"):
        solvers.minimize_scalar(lambda x: x * x, bounds=so.Bounds([0, 0], [1, 1]),
                                method="bounded")


STRATEGY_METHODS = ("trust-constr", "Newton-CG", "trust-ncg", "trust-krylov")


@pytest.mark.parametrize("strategy", [so.BFGS, so.SR1], ids=["BFGS", "SR1"])
@pytest.mark.parametrize("method", STRATEGY_METHODS)
def test_scipy_hessian_strategy_as_hess(method: str, strategy: type) -> None:
    ours = solvers.minimize(so.rosen, [-1.2, 1.0], method=method, jac=so.rosen_der,
                            hess=strategy())
    theirs = so.minimize(so.rosen, [-1.2, 1.0], method=method, jac=so.rosen_der,
                         hess=strategy())
    assert ours.success == theirs.success
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-8)
    assert ours.nit == theirs.nit
    assert ours.njev == theirs.njev


@pytest.mark.parametrize("strategy", [so.BFGS, so.SR1], ids=["BFGS", "SR1"])
def test_scipy_strategy_as_constraint_hess_in_trust_constr(strategy: type) -> None:
    def kwargs() -> dict[str, Any]:
        con = so.NonlinearConstraint(lambda x: x[0] ** 2 + x[1] ** 2, -np.inf, 4.0,
                                     jac=lambda x: np.array([[2.0 * x[0], 2.0 * x[1]]]),
                                     hess=strategy())
        return {"jac": gradient, "constraints": con}

    ours, theirs = _both("trust-constr", kwargs, objective, X0)
    _assert_like_scipy(ours, theirs, "trust-constr", atol=1e-8)
    assert ours.nit == theirs.nit


class CountingBFGS(so.BFGS):
    """A user subclass of scipy's strategy: counts how often each protocol method is used."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = {"initialize": 0, "update": 0, "dot": 0, "get_matrix": 0}

    def initialize(self, n: int, approx_type: str) -> None:
        self.calls["initialize"] += 1
        super().initialize(n, approx_type)

    def update(self, delta_x: Any, delta_grad: Any) -> None:
        self.calls["update"] += 1
        super().update(delta_x, delta_grad)

    def dot(self, p: Any) -> Any:
        self.calls["dot"] += 1
        return super().dot(p)

    def get_matrix(self) -> Any:
        self.calls["get_matrix"] += 1
        return super().get_matrix()


@pytest.mark.parametrize("method", ["trust-constr", "trust-ncg"])
def test_user_strategy_subclass_is_driven_through_its_own_methods(method: str) -> None:
    ours_strategy, their_strategy = CountingBFGS(), CountingBFGS()
    ours = solvers.minimize(so.rosen, [-1.2, 1.0], method=method, jac=so.rosen_der,
                            hess=ours_strategy)
    theirs = so.minimize(so.rosen, [-1.2, 1.0], method=method, jac=so.rosen_der,
                         hess=their_strategy)
    assert ours_strategy.calls["initialize"] == 1
    assert ours_strategy.calls["update"] == their_strategy.calls["update"] > 0
    assert ours_strategy.calls["dot"] > 0
    np.testing.assert_allclose(ours.x, theirs.x, atol=1e-8)
    np.testing.assert_allclose(ours_strategy.get_matrix(), their_strategy.get_matrix(),
                               rtol=1e-10)


class LookalikeBounds:
    """Not scipy's: only the attributes of a `Bounds`."""

    def __init__(self, lb: Any, ub: Any) -> None:
        self.lb, self.ub = lb, ub


class LookalikeLinear:
    """Not scipy's: only the attributes of a `LinearConstraint` (no keep_feasible)."""

    def __init__(self, A: Any, lb: Any, ub: Any) -> None:  # noqa: N803 - scipy's name
        self.A, self.lb, self.ub = A, lb, ub


class LookalikeNonlinear:
    """Not scipy's: only ``fun``, ``lb`` and ``ub`` (the other attributes take defaults)."""

    def __init__(self, fun: Callable[..., Any], lb: Any, ub: Any) -> None:
        self.fun, self.lb, self.ub = fun, lb, ub


@pytest.mark.parametrize("method", CONSTRAINED_METHODS)
def test_lookalike_objects_are_accepted_by_their_attributes(method: str) -> None:
    jac: dict[str, Any] = {"jac": gradient} if method in ("SLSQP", "trust-constr") else {}
    looks = solvers.minimize(
        objective, X0, method=method, bounds=LookalikeBounds([0.0, 0.0], [np.inf, np.inf]),
        constraints=[LookalikeLinear(A_TUTORIAL, [-2.0, -6.0, -2.0], np.inf),
                     LookalikeNonlinear(lambda x: x[0] ** 2 + x[1] ** 2, -np.inf, 4.0)],
        **jac)
    real = solvers.minimize(objective, X0, method=method, bounds=positive_quadrant(),
                            constraints=[linear(), disc()], **jac)
    np.testing.assert_array_equal(looks.x, real.x)
    assert looks.nfev == real.nfev and looks.success


def test_sparse_linear_constraint_matrix_is_accepted() -> None:
    con = so.LinearConstraint(scipy.sparse.csr_array(A_TUTORIAL), [-2.0, -6.0, -2.0], np.inf)
    ours = solvers.minimize(objective, X0, method="SLSQP", jac=gradient, constraints=con,
                            bounds=positive_quadrant())
    np.testing.assert_allclose(ours.x, [1.4, 1.7], atol=1e-6)


def test_dict_constraints_keep_working_next_to_scipy_objects() -> None:
    old = {"type": "ineq", "fun": lambda x: 4.0 - x[0] ** 2 - x[1] ** 2}
    ours = solvers.minimize(objective, X0, method="SLSQP", jac=gradient,
                            constraints=[old, linear()], bounds=positive_quadrant())
    theirs = so.minimize(objective, X0, method="SLSQP", jac=gradient,
                         constraints=[old, linear()], bounds=positive_quadrant())
    _assert_like_scipy(ours, theirs, "SLSQP", atol=1e-10)


@pytest.mark.parametrize("method", ["SLSQP", "trust-constr"])
def test_a_non_constraint_is_refused_in_one_line(method: str) -> None:
    with pytest.raises(TypeError) as info:
        solvers.minimize(objective, X0, method=method, constraints=[linear(), 42])
    text = str(info.value)
    assert "\n" not in text
    assert "Constraint 1 must be" in text and "got int" in text


def test_a_bounds_object_with_text_limits_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError) as info:
        solvers.minimize(objective, X0, method="L-BFGS-B", bounds=LookalikeBounds("a", "b"))
    assert "\n" not in str(info.value) and "LookalikeBounds" in str(info.value)
