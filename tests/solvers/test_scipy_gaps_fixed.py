"""Variables fixed by ``lb == ub`` (issue 8 item 2), against scipy 1.17 on the same inputs.

Every method that takes bounds holds the fixed variables at their values: ``fun``, ``jac``,
``hess``/``hessp``, the callback and the constraint functions only ever see ``x`` of full size
with the fixed entries exactly ``lb``.  The problem is scipy's ``test_equal_bounds`` one
(Rosenbrock in 4 variables, x[1] = 2 and x[3] = -1 fixed); results are compared with scipy's.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.optimize  # type: ignore[import-untyped]

import solvers
from solvers import Bounds, LinearConstraint, NonlinearConstraint

X0 = np.array([0.5, 2.0, 0.8, -1.0])
LB = np.array([0.0, 2.0, -np.inf, -1.0])
UB = np.array([5.0, 2.0, np.inf, -1.0])
FIXED = LB == UB

BOUNDED_METHODS = ["Nelder-Mead", "Powell", "L-BFGS-B", "TNC", "SLSQP", "COBYLA", "COBYQA",
                   "trust-constr"]
GRADIENT_METHODS = ["L-BFGS-B", "TNC", "SLSQP", "trust-constr"]
CONSTRAINED_METHODS = ["SLSQP", "COBYLA", "COBYQA", "trust-constr"]


class Watcher:
    """Records every ``x`` the user's functions receive that is not full size with the fixed
    values exact (``bad``), and how many it saw in all (``seen``)."""

    def __init__(self) -> None:
        self.bad: list[tuple[str, Any]] = []
        self.seen = 0

    def check(self, who: str, x: Any) -> None:
        self.seen += 1
        if isinstance(x, dict):  # intermediate_result
            x = x["x"]
        x = np.asarray(x)
        if x.shape != (4,) or not np.array_equal(x[FIXED], LB[FIXED]):
            self.bad.append((who, x.copy()))

    def fun(self, x: Any) -> float:
        self.check("fun", x)
        return float(scipy.optimize.rosen(x))

    def jac(self, x: Any) -> Any:
        self.check("jac", x)
        return scipy.optimize.rosen_der(x)

    def fun_and_jac(self, x: Any) -> tuple[float, Any]:
        self.check("fun_and_jac", x)
        return float(scipy.optimize.rosen(x)), scipy.optimize.rosen_der(x)

    def hess(self, x: Any) -> Any:
        self.check("hess", x)
        return scipy.optimize.rosen_hess(x)

    def hessp(self, x: Any, p: Any) -> Any:
        self.check("hessp", x)
        return scipy.optimize.rosen_hess_prod(x, p)

    def callback(self, kind: str) -> Callable[..., None] | None:
        if kind == "none":
            return None
        if kind == "xk":
            return lambda xk, *rest: self.check("callback", xk)

        def callback(intermediate_result: Any) -> None:
            self.check("callback", intermediate_result)
        return callback

    def constraint(self, x: Any) -> Any:
        self.check("constraint", x)
        return x[0] + x[2] - 0.1

    def constraint_jac(self, x: Any) -> Any:
        self.check("constraint_jac", x)
        return np.array([1.0, 0.0, 1.0, 0.0])


def _quiet(call: Callable[[], Any]) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return call()


def _reference(method: str, constraints: Any = ()) -> Any:
    jac = scipy.optimize.rosen_der if method in GRADIENT_METHODS else None
    return _quiet(lambda: scipy.optimize.minimize(
        scipy.optimize.rosen, X0, method=method, jac=jac, bounds=scipy.optimize.Bounds(LB, UB),
        constraints=constraints))


def _jac_cases(method: str) -> list[str]:
    return ["none", "callable", "true"] if method in GRADIENT_METHODS else ["none"]


CASES = [(m, j, c) for m in BOUNDED_METHODS for j in _jac_cases(m)
         for c in ("none", "xk", "intermediate_result")
         if not (c == "intermediate_result" and m in ("TNC", "SLSQP"))]


@pytest.mark.parametrize(("method", "jac", "callback"), CASES)
def test_fixed_variables_are_exact_in_every_call(method: str, jac: str, callback: str) -> None:
    watch = Watcher()
    fun: Callable[..., Any] = watch.fun_and_jac if jac == "true" else watch.fun
    jac_arg: Any = {"none": None, "callable": watch.jac, "true": True}[jac]
    res = _quiet(lambda: solvers.minimize(fun, X0, method=method, jac=jac_arg,
                                          bounds=Bounds(LB, UB),
                                          callback=watch.callback(callback)))
    assert watch.seen > 0
    assert watch.bad == []
    ref = _reference(method)
    assert res.success
    assert res.x.shape == (4,)
    np.testing.assert_array_equal(res.x[FIXED], LB[FIXED])
    np.testing.assert_allclose(res.x, ref.x, rtol=5e-4)
    np.testing.assert_allclose(res.fun, ref.fun, rtol=5e-6, atol=1e-10)


@pytest.mark.parametrize("method", CONSTRAINED_METHODS)
@pytest.mark.parametrize("form", ["dict", "object"])
def test_constraints_see_the_fixed_values(method: str, form: str) -> None:
    watch = Watcher()
    if form == "dict":
        constraints: Any = {"type": "ineq", "fun": watch.constraint, "jac": watch.constraint_jac}
    else:
        constraints = NonlinearConstraint(watch.constraint, 0.0, np.inf, jac=watch.constraint_jac)
    jac = watch.jac if method in GRADIENT_METHODS else None
    res = _quiet(lambda: solvers.minimize(watch.fun, X0, method=method, jac=jac,
                                          bounds=Bounds(LB, UB), constraints=constraints))
    assert watch.bad == []
    # scipy's SLSQP as the reference: scipy's COBYLA and COBYQA pass the constraints the free
    # variables only (an IndexError here), the very gap this test closes
    ref = _reference("SLSQP", {"type": "ineq", "fun": lambda x: x[0] + x[2] - 0.1})
    assert res.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-3)


@pytest.mark.parametrize("hessian", ["hess", "hessp", "SR1", "2-point"])
def test_trust_constr_hessians_see_the_fixed_values(hessian: str) -> None:
    watch = Watcher()
    kwargs: dict[str, Any] = {"hess": watch.hess} if hessian == "hess" else (
        {"hessp": watch.hessp} if hessian == "hessp" else
        {"hess": solvers.SR1() if hessian == "SR1" else "2-point"})
    res = _quiet(lambda: solvers.minimize(watch.fun, X0, method="trust-constr", jac=watch.jac,
                                          bounds=Bounds(LB, UB), **kwargs))
    assert watch.bad == []
    assert res.success
    np.testing.assert_allclose(res.x, _reference("trust-constr").x, rtol=5e-4)


def test_trust_constr_reports_its_state_at_full_size() -> None:
    states: list[Any] = []

    def callback(intermediate_result: Any) -> None:
        states.append(intermediate_result)

    linear = LinearConstraint([[1.0, 1.0, 1.0, 1.0]], -np.inf, 3.0)
    res = _quiet(lambda: solvers.minimize(
        scipy.optimize.rosen, X0, method="trust-constr", jac=scipy.optimize.rosen_der,
        bounds=Bounds(LB, UB), constraints=linear, callback=callback))
    ref = _quiet(lambda: scipy.optimize.minimize(
        scipy.optimize.rosen, X0, method="trust-constr", jac=scipy.optimize.rosen_der,
        bounds=scipy.optimize.Bounds(LB, UB),
        constraints=scipy.optimize.LinearConstraint([[1.0, 1.0, 1.0, 1.0]], -np.inf, 3.0)))
    assert res.success and ref.success
    np.testing.assert_allclose(res.x, ref.x, rtol=1e-5)
    assert [J.shape for J in res.jac] == [J.shape for J in ref.jac] == [(1, 4), (4, 4)]
    np.testing.assert_array_equal(res.jac[0], [[1.0, 1.0, 1.0, 1.0]])  # known linear columns
    assert [c.shape for c in res.constr] == [c.shape for c in ref.constr]
    np.testing.assert_array_equal(res.constr[1], res.x)
    assert np.isnan(res.grad[FIXED]).all()
    np.testing.assert_allclose(res.grad[~FIXED], ref.grad[~FIXED], rtol=1e-4, atol=1e-6)
    assert states and all(s.x.shape == (4,) and s.grad.shape == (4,) for s in states)
    np.testing.assert_array_equal(states[-1].x, res.x)


def test_trust_constr_trace_rows_are_full_size() -> None:
    res = _quiet(lambda: solvers.minimize(
        scipy.optimize.rosen, X0, method="trust-constr", jac=scipy.optimize.rosen_der,
        bounds=Bounds(LB, UB), options={"trace": True}))
    x = res.trace.to_arrays().x
    assert x.shape == (res.nit + 1, 4)
    np.testing.assert_array_equal(x[:, FIXED], np.broadcast_to(LB[FIXED], (x.shape[0], 2)))
