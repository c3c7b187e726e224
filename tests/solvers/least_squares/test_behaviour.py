"""Result fields, bounds objects, callbacks, traces, verbose output and Jacobian kinds, each
checked against scipy's `least_squares` on the same call."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.optimize
import scipy.sparse
import scipy.sparse.linalg

from solvers import Bounds, OptimizeResult, least_squares

from .problems import PROBLEMS

DECAY = PROBLEMS[0]
FIELDS = {"x", "cost", "fun", "jac", "grad", "optimality", "active_mask", "nfev", "njev",
          "status", "message", "success"}


def trivial(x: np.ndarray) -> np.ndarray:
    return x**2 + 5.0


def trivial_jac(x: np.ndarray) -> np.ndarray:
    return np.atleast_2d(2 * x)


@pytest.mark.parametrize("method", ["trf", "dogbox", "lm"])
def test_result_fields_and_types_match_scipy(method: str) -> None:
    ours = least_squares(DECAY.fun, DECAY.x0, method=method)
    ref = scipy.optimize.least_squares(DECAY.fun, DECAY.x0, method=method)
    assert isinstance(ours, OptimizeResult)
    assert set(ours) == FIELDS == set(ref)
    assert ours.message == ref.message and ours.status == ref.status
    assert ours.active_mask.dtype == ref.active_mask.dtype
    assert (ours.njev is None) == (ref.njev is None)


@pytest.mark.parametrize("method", ["trf", "dogbox"])
@pytest.mark.parametrize("loss", ["linear", "huber", "soft_l1", "cauchy", "arctan"])
def test_single_evaluation_result_is_exact(method: str, loss: str) -> None:
    """``max_nfev=1``: x0 itself with its residuals, loss-scaled Jacobian and gradient."""
    ours = least_squares(trivial, 2.0, trivial_jac, method=method, loss=loss, max_nfev=1)
    ref = scipy.optimize.least_squares(trivial, 2.0, trivial_jac, method=method, loss=loss,
                                       max_nfev=1)
    for key in ("x", "cost", "fun", "jac", "grad", "optimality", "nfev", "njev", "status"):
        np.testing.assert_allclose(ours[key], ref[key], rtol=1e-15, err_msg=key)
    assert ours.status == 0 and not ours.success


@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_scipy_bounds_object_accepted(method: str) -> None:
    problem = PROBLEMS[3]
    lb, ub = problem.bounds
    ours = least_squares(problem.fun, problem.x0, problem.jac, method=method,
                         bounds=scipy.optimize.Bounds(lb, ub))
    same = least_squares(problem.fun, problem.x0, problem.jac, method=method,
                         bounds=Bounds(lb, ub))
    plain = least_squares(problem.fun, problem.x0, problem.jac, method=method, bounds=(lb, ub))
    np.testing.assert_array_equal(ours.x, plain.x)
    np.testing.assert_array_equal(same.x, plain.x)
    assert ours.active_mask.tolist() == [0, 1, 0]


@pytest.mark.parametrize("solver", [least_squares, scipy.optimize.least_squares],
                         ids=["ours", "scipy"])
def test_bounds_object_is_not_broadcast_to_x0(solver: Any) -> None:
    """A Bounds object holding one bound per side fits one variable only, as in scipy."""
    res = solver(lambda x: x - 3.0, 0.5, bounds=scipy.optimize.Bounds(lb=-1.0, ub=1.0))
    np.testing.assert_allclose(res.x, [1.0])
    with pytest.raises(ValueError, match="Inconsistent shapes between bounds and `x0`"):
        solver(lambda x: x - 3.0, [0.5, 0.5], bounds=scipy.optimize.Bounds(lb=-1.0, ub=1.0))


@pytest.mark.parametrize("bounds", [(-np.inf, np.inf), (-8.0, 8.0)], ids=["free", "boxed"])
@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_callback_sees_scipy_iterates_and_can_stop(method: str, bounds: Any) -> None:
    def collect(into: list[Any]) -> Any:
        def callback(intermediate_result: OptimizeResult) -> None:
            into.append((intermediate_result.nit, intermediate_result.nfev,
                         intermediate_result.cost, intermediate_result.x.copy()))
        return callback

    ours_seen: list[Any] = []
    ref_seen: list[Any] = []
    least_squares(trivial, 5.0, method=method, bounds=bounds, callback=collect(ours_seen))
    scipy.optimize.least_squares(trivial, 5.0, method=method, bounds=bounds,
                                 callback=collect(ref_seen))
    assert [r[:2] for r in ours_seen] == [r[:2] for r in ref_seen]
    np.testing.assert_allclose([r[2] for r in ours_seen], [r[2] for r in ref_seen], rtol=1e-12)

    def stop(x: np.ndarray) -> None:
        raise StopIteration

    res = least_squares(trivial, 5.0, method=method, bounds=bounds, callback=stop)
    assert res.status == -2 and not res.success
    assert res.message == scipy.optimize.least_squares(trivial, 5.0, method=method,
                                                       bounds=bounds, callback=stop).message


@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_trace_records_every_iteration(method: str) -> None:
    res = least_squares(DECAY.fun, DECAY.x0, DECAY.jac, method=method, trace=True)
    arrays = res.trace.to_arrays()
    np.testing.assert_array_equal(arrays.x[0], DECAY.x0)
    np.testing.assert_array_equal(arrays.x[-1], res.x)
    assert arrays.f[0] == pytest.approx(0.5 * np.sum(DECAY.fun(DECAY.x0) ** 2), rel=1e-15)
    assert arrays.f[-1] == res.cost
    assert arrays.grad_norm[-1] == res.optimality
    assert arrays.nfev[0] == 1 and arrays.nfev[-1] == res.nfev
    assert np.all(np.diff(arrays.f) <= 0)  # accepted steps only lower the cost
    assert "trace" not in least_squares(DECAY.fun, DECAY.x0, method=method)


def test_lm_trace_rows_per_jacobian() -> None:
    res = least_squares(DECAY.fun, DECAY.x0, DECAY.jac, method="lm", trace=True)
    arrays = res.trace.to_arrays()
    assert len(res.trace) == res.njev + 1  # one row per Jacobian, then the returned point
    np.testing.assert_array_equal(arrays.x[0], DECAY.x0)
    np.testing.assert_array_equal(arrays.x[-1], res.x)
    assert arrays.f[-1] == res.cost and arrays.grad_norm[-1] == res.optimality
    assert arrays.nfev[0] == 1 and arrays.nfev[-1] == res.nfev
    assert np.all(np.diff(arrays.f) <= 0)


@pytest.mark.parametrize("method", ["trf", "dogbox", "lm"])
@pytest.mark.parametrize("verbose", [1, 2])
def test_verbose_output_matches_scipy(method: str, verbose: int,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    least_squares(DECAY.fun, DECAY.x0, DECAY.jac, method=method, verbose=verbose)
    ours = capsys.readouterr().out
    scipy.optimize.least_squares(DECAY.fun, DECAY.x0, DECAY.jac, method=method,
                                 verbose=verbose)
    ref = capsys.readouterr().out
    assert ours == ref  # (lm: no per-iteration table, as MINPACK through scipy)


def _broyden(n: int = 30) -> tuple[Any, Any, np.ndarray]:
    def fun(x: np.ndarray) -> np.ndarray:
        f = (3 - x) * x + 1
        f[1:] -= x[:-1]
        f[:-1] -= 2 * x[1:]
        return f

    def jac(x: np.ndarray) -> Any:
        return scipy.sparse.diags([-np.ones(n - 1), 3 - 2 * x, -2 * np.ones(n - 1)],
                                  [-1, 0, 1], format="csr")
    return fun, jac, -np.ones(n)


@pytest.mark.parametrize("kind", ["sparse", "operator"])
def test_sparse_and_operator_jacobians_are_densified(kind: str) -> None:
    fun, jac, x0 = _broyden()
    user_jac = jac if kind == "sparse" else (
        lambda x: scipy.sparse.linalg.aslinearoperator(jac(x)))
    ours = least_squares(fun, x0, user_jac)
    ref = scipy.optimize.least_squares(fun, x0, user_jac)
    assert isinstance(ours.jac, np.ndarray) and ours.jac.shape == (30, 30)
    assert ours.cost < 1e-20 and ref.cost < 1e-20
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-10)
    with pytest.raises(ValueError, match="tr_solver='exact' works only with dense"):
        least_squares(fun, x0, user_jac, tr_solver="exact")


def test_jac_sparsity_gives_the_dense_counts() -> None:
    fun, jac, x0 = _broyden()
    pattern = (jac(x0).toarray() != 0).astype(int)
    ours = least_squares(fun, x0, jac_sparsity=pattern)
    ref = scipy.optimize.least_squares(fun, x0, jac_sparsity=pattern)
    assert ours.nfev == ref.nfev
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    assert np.all(ours.jac[pattern == 0] == 0)


def test_float32_residuals_get_float32_steps() -> None:
    """scipy gh-12991: float32 residuals need a float32-sized difference step."""
    rng = np.random.default_rng(1978)
    t = np.linspace(0, 1, 100, dtype=np.float32)
    y = rng.random(size=100, dtype=np.float32)

    def err(p: np.ndarray) -> np.ndarray:
        return ((p[0] + p[1] * t).astype(np.float32) - y).astype(np.float32)

    ours = least_squares(err, [-1.0, -1.0])
    ref = scipy.optimize.least_squares(err, [-1.0, -1.0])
    assert ours.nfev > 2
    np.testing.assert_allclose(ours.x, ref.x, atol=1e-5)  # float32 residuals: float32 digits


def test_workers_accepted_with_identical_results() -> None:
    serial = least_squares(trivial, 2.0)
    mapped = least_squares(trivial, 2.0, workers=map)
    np.testing.assert_array_equal(serial.x, mapped.x)
    assert serial.nfev == mapped.nfev


def test_non_finite_trial_shrinks_the_region() -> None:
    def guarded(x: np.ndarray) -> np.ndarray:
        return np.array([np.inf]) if x[0] < 0.5 else np.array([x[0] - 1.0, 0.1 * x[0]])

    ours = least_squares(lambda x: np.resize(guarded(x), 2), [3.0])
    ref = scipy.optimize.least_squares(lambda x: np.resize(guarded(x), 2), [3.0])
    np.testing.assert_allclose(ours.x, ref.x, rtol=1e-8)
    assert ours.nfev == ref.nfev
