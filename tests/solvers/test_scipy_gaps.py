"""Behaviour gaps against scipy 1.17 (issue 8 item 2), each checked on the same inputs as scipy.

Shapes of ``minimize_scalar``'s results, trust-constr's one-row and sparse constraint Jacobians,
the dtype of ``x0``, callback-requested stops and iteration limits (status, message, nit), and
the warnings scipy emits.  Variables fixed by the bounds are in `test_scipy_gaps_fixed`.
Where we deliberately differ, docs/solvers.md says so and the test names the difference.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import scipy.optimize  # type: ignore[import-untyped]
import scipy.sparse  # type: ignore[import-untyped]

import solvers

ROSEN_X0 = [-1.2, 1.0]
ALL_METHODS = ["Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "COBYLA",
               "COBYQA", "SLSQP", "trust-constr", "dogleg", "trust-ncg", "trust-exact",
               "trust-krylov"]
USES_JAC = {"CG", "BFGS", "Newton-CG", "L-BFGS-B", "TNC", "SLSQP", "trust-constr", "dogleg",
            "trust-ncg", "trust-exact", "trust-krylov"}
USES_HESS = {"Newton-CG", "trust-constr", "dogleg", "trust-ncg", "trust-exact", "trust-krylov"}


def _derivatives(method: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if method in USES_JAC:
        out["jac"] = scipy.optimize.rosen_der
    if method in USES_HESS:
        out["hess"] = scipy.optimize.rosen_hess
    return out


def _recording(call: Callable[[], Any]) -> tuple[Any, list[tuple[type[Warning], str]]]:
    """``call()`` with its warnings recorded (category, message) and its printing swallowed."""
    with warnings.catch_warnings(record=True) as caught, \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("always")
        result = call()
    return result, [(w.category, str(w.message)) for w in caught]


def _both(method: str, **kwargs: Any) -> tuple[Any, Any]:
    """(ours, scipy's) on Rosenbrock from (-1.2, 1), warnings ignored."""
    def run(minimize: Callable[..., Any]) -> Any:
        return _recording(lambda: minimize(scipy.optimize.rosen, ROSEN_X0, method=method,
                                           **_derivatives(method), **kwargs))[0]
    return run(solvers.minimize), run(scipy.optimize.minimize)


# -- minimize_scalar keeps the shape of what fun returns (gh-16196) ----------------------------
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
@pytest.mark.parametrize("method", ["brent", "golden", "bounded"])
def test_minimize_scalar_keeps_the_shape_fun_returns(shape: tuple[int, ...], method: str) -> None:
    def fun(x: Any) -> Any:
        return np.reshape((x - 1.5) ** 2 + 0.25, shape)

    kwargs: dict[str, Any] = {"bounds": (-3, 4)} if method == "bounded" else {}
    ours = solvers.minimize_scalar(fun, method=method, **kwargs)
    ref = scipy.optimize.minimize_scalar(fun, method=method, **kwargs)
    for key in ("x", "fun"):
        assert np.shape(ours[key]) == np.shape(ref[key]) == shape
        assert type(ours[key]) is type(ref[key])
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-7)
    assert (ours.nfev, ours.nit) == (ref.nfev, ref.nit)


# -- trust-constr: one-row, 1-d and sparse constraint Jacobians --------------------------------
def _circle(x: Any) -> Any:
    return x[0] ** 2 + x[1] ** 2


JACOBIANS: dict[str, Callable[[Any], Any]] = {
    "1-d": lambda x: np.array([2 * x[0], 2 * x[1]]),
    "one row": lambda x: np.array([[2 * x[0], 2 * x[1]]]),
    "sparse": lambda x: scipy.sparse.csr_matrix([[2 * x[0], 2 * x[1]]]),
}


@pytest.mark.parametrize("jacobian", list(JACOBIANS))
@pytest.mark.parametrize("hessian", ["callable", "2-point", "BFGS"])
@pytest.mark.parametrize("upper", [1.0, "equality"])
def test_trust_constr_one_row_constraint_jacobians(jacobian: str, hessian: str,
                                                   upper: Any) -> None:
    def con_hess(x: Any, v: Any) -> Any:
        return 2 * v[0] * np.eye(2)

    lb, ub = (1.0, 1.0) if upper == "equality" else (-np.inf, upper)

    def run(lib: Any) -> Any:
        hess = {"callable": con_hess, "2-point": "2-point", "BFGS": lib.BFGS()}[hessian]
        con = lib.NonlinearConstraint(_circle, lb, ub, jac=JACOBIANS[jacobian], hess=hess)
        return _recording(lambda: lib.minimize(
            scipy.optimize.rosen, [0.5, 0.5], method="trust-constr", jac=scipy.optimize.rosen_der,
            hess=scipy.optimize.rosen_hess, constraints=con))[0]

    ours, ref = run(solvers), run(scipy.optimize)
    assert ours.status == ref.status and ours.success
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)
    assert (ours.nfev, ours.nit) == (ref.nfev, ref.nit)


@pytest.mark.parametrize("A", [[1.0, 1.0], [[1.0, 1.0]], np.array([1.0, 1.0])])
def test_trust_constr_one_row_linear_constraint(A: Any) -> None:
    def run(lib: Any) -> Any:
        return lib.minimize(scipy.optimize.rosen, [0.5, 0.5], method="trust-constr",
                            jac=scipy.optimize.rosen_der,
                            constraints=lib.LinearConstraint(A, -np.inf, 1.0))

    ours, ref = run(solvers), run(scipy.optimize)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)
    assert (ours.nfev, ours.nit, ours.status) == (ref.nfev, ref.nit, ref.status)


# -- the dtype of x0 ---------------------------------------------------------------------------
#: scipy's TNC and SLSQP raise on a float32 x0 (their compiled kernels want float64)
FLOAT32_METHODS = [m for m in ALL_METHODS if m not in ("TNC", "SLSQP")]


@pytest.mark.parametrize("method", FLOAT32_METHODS)
def test_float32_x0_gives_scipy_dtype_of_x(method: str) -> None:
    """Rosenbrock's derivatives keep float32, so scipy's x is float32 wherever it keeps the
    dtype of x0 (Nelder-Mead, Newton-CG, dogleg, trust-ncg, trust-exact)."""
    x0 = np.array([1.2, 0.9], dtype=np.float32)

    def run(minimize: Callable[..., Any]) -> Any:
        return _recording(lambda: minimize(scipy.optimize.rosen, x0, method=method,
                                           **_derivatives(method)))[0]

    ours, ref = run(solvers.minimize), run(scipy.optimize.minimize)
    assert ours.x.dtype == ref.x.dtype


def test_float32_x0_is_kept_when_the_callback_stops_the_run() -> None:
    def stop(xk: Any) -> None:
        raise StopIteration

    x0 = np.array([1.2, 0.9], dtype=np.float32)
    ours = solvers.minimize(scipy.optimize.rosen, x0, method="Nelder-Mead", callback=stop)
    ref = scipy.optimize.minimize(scipy.optimize.rosen, x0, method="Nelder-Mead", callback=stop)
    assert ours.x.dtype == ref.x.dtype == np.float32


# -- callback stops and iteration limits -------------------------------------------------------
def _stopper(kind: str, after: int = 3) -> Callable[..., Any]:
    calls = [0]

    def count() -> None:
        calls[0] += 1
        if calls[0] >= after:
            raise StopIteration

    if kind == "xk":
        return lambda xk, *rest: count()

    def callback(intermediate_result: Any) -> None:
        count()
    return callback


#: scipy's TNC lets StopIteration escape from minimize, scipy's trust-constr calls a
#: one-argument callback with two (TypeError): deliberate differences (docs/solvers.md)
STOP_CASES = [(m, k) for m in ALL_METHODS for k in ("xk", "intermediate_result")
              if m != "TNC" and not (m == "trust-constr" and k == "xk")]


@pytest.mark.parametrize(("method", "kind"), STOP_CASES)
def test_callback_stop_gives_scipy_status_message_and_counts(method: str, kind: str) -> None:
    ours = _recording(lambda: solvers.minimize(scipy.optimize.rosen, ROSEN_X0, method=method,
                                               callback=_stopper(kind), **_derivatives(method)))[0]
    ref = _recording(lambda: scipy.optimize.minimize(
        scipy.optimize.rosen, ROSEN_X0, method=method, callback=_stopper(kind),
        **_derivatives(method)))[0]
    assert (ours.status, ours.message) == (ref.status, ref.message)
    assert ours.nfev == ref.nfev
    if "nit" in ref:  # scipy's COBYLA result has no nit
        assert ours.nit == ref.nit
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-6)


def test_cobyqa_calls_the_callback_after_every_evaluation() -> None:
    ours_calls: list[Any] = []
    ref_calls: list[Any] = []

    def recorder(calls: list[Any]) -> Callable[..., None]:
        def callback(intermediate_result: Any) -> None:
            calls.append((np.copy(intermediate_result.x), float(intermediate_result.fun)))
        return callback

    ours = solvers.minimize(scipy.optimize.rosen, ROSEN_X0, method="COBYQA",
                            callback=recorder(ours_calls), options={"maxiter": 4})
    ref = scipy.optimize.minimize(scipy.optimize.rosen, ROSEN_X0, method="COBYQA",
                                  callback=recorder(ref_calls), options={"maxiter": 4})
    assert len(ours_calls) == ours.nfev == ref.nfev == len(ref_calls)
    for (x, f), (x_ref, f_ref) in zip(ours_calls, ref_calls, strict=True):
        np.testing.assert_allclose(x, x_ref, rtol=1e-8)
        assert f == pytest.approx(f_ref, rel=1e-8)
    assert ours.nit == ref.nit


@pytest.mark.parametrize("method", ALL_METHODS)
def test_iteration_limit_gives_scipy_status_message_and_nit(method: str) -> None:
    maxiter = 6 if method == "COBYLA" else 3  # COBYLA: a budget scipy raises to n + 2
    ours, ref = _both(method, options={"maxiter": maxiter})
    assert (ours.status, ours.message, ours.success) == (ref.status, ref.message, ref.success)
    assert ours.nfev == ref.nfev
    if "nit" in ref:
        assert ours.nit == ref.nit


# -- warnings ----------------------------------------------------------------------------------
DISP_WARNING_METHODS = ["Nelder-Mead", "Powell", "CG", "BFGS", "Newton-CG", "dogleg",
                        "trust-ncg", "trust-exact", "trust-krylov"]


@pytest.mark.parametrize("method", DISP_WARNING_METHODS)
def test_disp_at_maxiter_warns_as_scipy(method: str) -> None:
    def run(minimize: Callable[..., Any]) -> list[tuple[type[Warning], str]]:
        return _recording(lambda: minimize(scipy.optimize.rosen, ROSEN_X0, method=method,
                                           options={"disp": True, "maxiter": 2},
                                           **_derivatives(method)))[1]

    ours, ref = run(solvers.minimize), run(scipy.optimize.minimize)
    assert len(ours) == len(ref) == 1
    (cat, text), (ref_cat, ref_text) = ours[0], ref[0]
    assert cat.__name__ == ref_cat.__name__ and text == ref_text


@pytest.mark.parametrize("method", ["Nelder-Mead", "BFGS", "dogleg"])
def test_disp_on_success_does_not_warn(method: str) -> None:
    _, caught = _recording(lambda: solvers.minimize(
        scipy.optimize.rosen, ROSEN_X0, method=method, options={"disp": True},
        **_derivatives(method)))
    assert caught == []


@pytest.mark.parametrize("method", ["brent", "golden", "bounded"])
@pytest.mark.parametrize("disp", [True, 1, 3])
def test_scalar_methods_at_maxiter_with_disp_warn_as_scipy(method: str, disp: Any) -> None:
    kwargs: dict[str, Any] = {"bounds": (-3, 4)} if method == "bounded" else {}

    def run(minimize_scalar: Callable[..., Any]) -> Any:
        return _recording(lambda: minimize_scalar(
            lambda x: (x - 1) ** 2 + np.sin(x), method=method,
            options={"maxiter": 3, "disp": disp}, **kwargs))

    (ours, ours_w), (ref, ref_w) = run(solvers.minimize_scalar), run(scipy.optimize.minimize_scalar)
    assert [(c.__name__, m) for c, m in ours_w] == [(c.__name__, m) for c, m in ref_w]
    assert len(ref_w) == 1
    assert (ours.success, ours.message) == (ref.success, ref.message)


#: scipy's trust-constr raises TypeError on an unknown option: here it is the same warning as
#: for every other method (deliberate)
UNKNOWN_OPTION_METHODS = [m for m in ALL_METHODS if m != "trust-constr"]


@pytest.mark.parametrize("method", UNKNOWN_OPTION_METHODS)
def test_unknown_options_and_ignored_derivatives_warn_as_scipy(method: str) -> None:
    def run(minimize: Callable[..., Any]) -> set[tuple[str, str]]:
        caught = _recording(lambda: minimize(
            scipy.optimize.rosen, ROSEN_X0, method=method, jac=scipy.optimize.rosen_der,
            hess=scipy.optimize.rosen_hess, options={"not_an_option": 1, "maxiter": 5}))[1]
        return {(c.__name__, m) for c, m in caught
                if c.__name__ in ("OptimizeWarning", "RuntimeWarning")}

    ours, ref = run(solvers.minimize), run(scipy.optimize.minimize)
    assert any(m.startswith("Unknown solver options: not_an_option") for _, m in ref)
    assert ours == ref


@pytest.mark.parametrize("method", ["CG", "BFGS", "Newton-CG", "trust-ncg", "trust-krylov",
                                    "dogleg", "trust-exact", "L-BFGS-B", "TNC", "SLSQP",
                                    "trust-constr"])
def test_workers_is_an_accepted_option(method: str) -> None:
    ours, caught = _recording(lambda: solvers.minimize(
        scipy.optimize.rosen, ROSEN_X0, method=method, options={"workers": None},
        **_derivatives(method)))
    assert not [m for _, m in caught if "Unknown solver options" in m]
    assert ours.fun < 1e-5


def test_non_scalar_objective_message_is_scipys() -> None:
    with pytest.raises(ValueError, match="The user-provided objective function must return a "
                                         "scalar value."):
        solvers.minimize(lambda x: x, np.array([1.0, 1.0]), method="BFGS")


# -- counts with a quasi-Newton Hessian strategy -----------------------------------------------
@pytest.mark.parametrize("method", ["trust-ncg", "trust-krylov", "Newton-CG", "trust-constr"])
@pytest.mark.parametrize("strategy", ["BFGS", "SR1"])
def test_quasi_newton_hessian_counts_are_scipys(method: str, strategy: str) -> None:
    """A gradient at a point where the value is not needed is evaluated alone, as scipy's
    ScalarFunction does (a rejected trust-region trial no longer re-evaluates ``fun``)."""
    def run(lib: Any) -> Any:
        return _recording(lambda: lib.minimize(
            scipy.optimize.rosen, ROSEN_X0, method=method, jac=scipy.optimize.rosen_der,
            hess=getattr(lib, strategy)()))[0]

    ours, ref = run(solvers), run(scipy.optimize)
    assert (ours.nfev, ours.njev, ours.nit) == (ref.nfev, ref.njev, ref.nit)
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-7)


@pytest.mark.parametrize("method", [m for m in ALL_METHODS if m != "trust-constr"])
def test_a_callback_returning_true_does_not_stop_the_run(method: str) -> None:
    """Only trust-constr honours a callback's True (tested with it); every other method of
    scipy 1.17 ignores the return value, and so do ours."""
    def always_true(intermediate_result: Any) -> bool:
        return True

    def run(minimize: Callable[..., Any], callback: Any) -> Any:
        return _recording(lambda: minimize(scipy.optimize.rosen, ROSEN_X0, method=method,
                                           callback=callback, **_derivatives(method)))[0]

    for minimize in (solvers.minimize, scipy.optimize.minimize):
        plain, with_true = run(minimize, None), run(minimize, always_true)
        assert (with_true.status, with_true.nfev) == (plain.status, plain.nfev)
    assert run(solvers.minimize, always_true).success == run(scipy.optimize.minimize,
                                                             always_true).success
