"""Hessian sources (`solvers._core.hessian`), update strategies and the Rosenbrock helpers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse.linalg

import solvers
from solvers._core.context import RunContext
from solvers._core.hessian import make_hessian

RNG = np.random.default_rng(7)


# -- update strategies against scipy's classes -------------------------------------------------
def _random_pairs(n: int, count: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, n))
    spd = a @ a.T + n * np.eye(n)
    pairs = []
    for i in range(count):
        s = rng.normal(size=n)
        y = spd @ s if i % 3 else rng.normal(size=n)  # every third pair may violate curvature
        pairs.append((s, y))
    return pairs


STRATEGIES = [("BFGS", {}), ("BFGS", {"exception_strategy": "damp_update"}),
              ("BFGS", {"min_curvature": 0.5}), ("BFGS", {"init_scale": 2.5}), ("SR1", {}),
              ("SR1", {"min_denominator": 1e-3}), ("SR1", {"init_scale": 0.5})]


@pytest.mark.parametrize("approx_type", ["hess", "inv_hess"])
@pytest.mark.parametrize("name,kwargs", STRATEGIES)
def test_strategy_matches_scipy(name: str, kwargs: dict[str, Any], approx_type: str) -> None:
    ours, ref = getattr(solvers, name)(**kwargs), getattr(scipy.optimize, name)(**kwargs)
    ours.initialize(6, approx_type)
    ref.initialize(6, approx_type)
    np.testing.assert_array_equal(ours.get_matrix(), np.eye(6))
    for s, y in _random_pairs(6, 25, seed=len(name) + len(kwargs)):
        ours.update(s, y)
        ref.update(s, y)
        np.testing.assert_allclose(ours.get_matrix(), ref.get_matrix(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.dot(s), ref.dot(s), rtol=1e-10, atol=1e-12)
    m = ours.get_matrix()
    assert np.array_equal(m, m.T)
    p = RNG.normal(size=6)
    np.testing.assert_allclose(ours @ p, m @ p, rtol=1e-12)


def test_array_init_scale_replaces_the_identity() -> None:
    start = np.diag([1.0, 2.0, 3.0])
    ours, ref = solvers.BFGS(init_scale=start), scipy.optimize.BFGS(init_scale=start)
    for strat in (ours, ref):
        strat.initialize(3, "hess")
        strat.update(np.array([1.0, 0, 0]), np.array([2.0, 0.1, 0]))
    np.testing.assert_allclose(ours.get_matrix(), ref.get_matrix(), rtol=1e-14)


@pytest.mark.parametrize("scale,error", [
    (np.ones((2, 2)), ValueError), (np.array([[1.0, 2.0, 0], [0, 1, 0], [0, 0, 1]]), ValueError),
    (np.eye(3) * (1 + 1j), TypeError)])
def test_bad_array_init_scale(scale: np.ndarray, error: type) -> None:
    for lib in (solvers, scipy.optimize):
        strat = lib.SR1(init_scale=scale)
        strat.initialize(3, "hess")
        with pytest.raises(error):
            strat.update(np.ones(3), np.arange(1.0, 4.0))


def test_protocol_errors_as_scipy() -> None:
    for lib in (solvers, scipy.optimize):
        with pytest.raises(ValueError, match="approx_type"):
            lib.BFGS().initialize(2, "jacobian")
        with pytest.raises(ValueError, match="exception_strategy"):
            lib.BFGS(exception_strategy="ignore")
        with pytest.raises(NotImplementedError):
            lib.HessianUpdateStrategy().dot(np.ones(2))


def test_zero_steps_and_linear_warning() -> None:
    strat = solvers.BFGS()
    strat.initialize(2, "inv_hess")
    strat.update(np.zeros(2), np.ones(2))
    with pytest.warns(UserWarning, match="delta_grad == 0.0"):
        strat.update(np.ones(2), np.zeros(2))
    np.testing.assert_array_equal(strat.get_matrix(), np.eye(2))
    assert strat.first_iteration


def test_uninitialised_strategy_is_a_clear_error() -> None:
    with pytest.raises(RuntimeError, match="initialize"):
        solvers.SR1().dot(np.ones(2))


# -- Rosenbrock helpers -----------------------------------------------------------------------
@pytest.mark.parametrize("n", [2, 3, 7, 50])
def test_rosen_helpers_match_scipy(n: int) -> None:
    x, p = RNG.normal(size=n), RNG.normal(size=n)
    assert solvers.rosen(x) == pytest.approx(scipy.optimize.rosen(x), rel=1e-14)
    np.testing.assert_allclose(solvers.rosen_der(x), scipy.optimize.rosen_der(x), rtol=1e-14)
    np.testing.assert_allclose(solvers.rosen_hess(x), scipy.optimize.rosen_hess(x), rtol=1e-14)
    np.testing.assert_allclose(solvers.rosen_hess_prod(x, p),
                               scipy.optimize.rosen_hess_prod(x, p), rtol=1e-13)


def test_rosen_helpers_on_columns_integers_and_complex() -> None:
    cols = RNG.normal(size=(4, 3))
    np.testing.assert_allclose(solvers.rosen(cols), scipy.optimize.rosen(cols), rtol=1e-14)
    assert solvers.rosen([1, 1, 1]) == 0.0
    x = RNG.normal(size=4)
    h = 1e-20
    step = np.zeros(4, dtype=complex)
    step[2] = 1j * h
    np.testing.assert_allclose(np.imag(solvers.rosen_der(x + step)) / h,
                               solvers.rosen_hess(x)[:, 2], rtol=1e-10)


# -- HessianSource ----------------------------------------------------------------------------
def _source(hess: Any = None, hessp: Any = None, *, needs: str = "hess_or_hessp",
            method: str = "trust-ncg", jac: Any = solvers.rosen_der) -> Any:
    ctx = RunContext(fun=solvers.rosen, jac=jac, hess=hess, hessp=hessp)
    obj = ctx.make_objective()
    return make_hessian(ctx, obj, method=method, needs=needs), obj


X = np.array([-1.2, 1.0, 0.4, 0.8])
P = np.array([0.3, -1.0, 2.0, 0.5])


@pytest.mark.parametrize("scheme,grads_per_product,rtol", [
    ("2-point", 1, 1e-6), ("3-point", 2, 1e-9), ("cs", 1, 1e-12)])
def test_finite_difference_products(scheme: str, grads_per_product: int, rtol: float) -> None:
    source, obj = _source(scheme)
    obj.fun_and_grad(X)
    before = obj.njev
    hp = source.hessp(X, P)
    np.testing.assert_allclose(hp, solvers.rosen_hess(X) @ P, rtol=rtol)
    assert (obj.njev - before, source.nhev) == (grads_per_product, 1)
    np.testing.assert_array_equal(source.hess(X).dot(P), source.hessp(X, P))


def test_callable_hess_is_memoised_and_counted() -> None:
    source, _ = _source(solvers.rosen_hess)
    assert source.uses_matrix(X)
    np.testing.assert_array_equal(source.hess_dense(X), solvers.rosen_hess(X))
    np.testing.assert_allclose(source.hessp(X, P), solvers.rosen_hess(X) @ P)
    assert source.nhev == 1
    source.hess(X + 1)
    assert source.nhev == 2


def test_operator_hess_has_no_dense_form() -> None:
    def op(x: np.ndarray) -> Any:
        h = solvers.rosen_hess(x)
        return scipy.sparse.linalg.LinearOperator(h.shape, matvec=lambda p: h @ p)

    source, _ = _source(op, method="trust-krylov")
    assert not source.uses_matrix(X)
    np.testing.assert_allclose(source.hessp(X, P), solvers.rosen_hess(X) @ P)
    with pytest.raises(ValueError, match="trust-krylov needs the Hessian as a dense"):
        source.hess_dense(X)


def test_hessp_source() -> None:
    source, _ = _source(hessp=solvers.rosen_hess_prod)
    np.testing.assert_array_equal(source.hessp(X, P), solvers.rosen_hess_prod(X, P))
    assert source.nhev == 1 and source.kind == "hessp"
    with pytest.raises(ValueError, match="Hessian is required for trust-ncg"):
        source.hess_dense(X)
    source.update(X, P)  # no-op for anything but a strategy
    obj = RunContext(fun=solvers.rosen).make_objective()
    assert source.watch(obj) is obj


def test_strategy_source_feeds_visited_points() -> None:
    strat = solvers.SR1()
    source, obj = _source(strat)
    tracked = source.watch(obj)
    tracked.fun_and_grad(X)
    assert strat.n == 4 and strat.first_iteration
    y = X + 0.1
    tracked.fun(y)  # a new point: its gradient is evaluated and the pair fed
    ref = scipy.optimize.SR1()
    ref.initialize(4, "hess")
    ref.update(y - X, solvers.rosen_der(y) - solvers.rosen_der(X))
    np.testing.assert_allclose(source.hess_dense(y), ref.get_matrix(), rtol=1e-12)
    assert source.hess(y) is strat
    np.testing.assert_allclose(source.hessp(y, P), ref.dot(P), rtol=1e-12)


@pytest.mark.parametrize("method,needs,kwargs,match", [
    ("dogleg", "hess", {"hess": "2-point"}, "Hessian is required for dogleg minimization"),
    ("trust-exact", "hess", {"hessp": solvers.rosen_hess_prod},
     "Hessian matrix is required for trust region exact minimization."),
    ("trust-ncg", "hess_or_hessp", {}, "Either the Hessian or the Hessian-vector product is "
     "required for Newton-CG trust-region minimization"),
    ("trust-krylov", "hess_or_hessp", {"hess": np.eye(4)}, "`hess` must be"),
])
def test_missing_or_invalid_source_messages(method: str, needs: str, kwargs: dict[str, Any],
                                            match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _source(needs=needs, method=method, **kwargs)


def test_finite_difference_hessian_needs_an_exact_gradient() -> None:
    with pytest.raises(ValueError, match="quasi-Newton strategies"):
        _source("3-point", jac="2-point")
    source, _ = _source(solvers.SR1(), jac="2-point")  # strategies are allowed
    assert source.kind == "strategy"
