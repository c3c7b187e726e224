"""Row independence, active-set masks, stragglers, bounds, traces and the result record."""

from __future__ import annotations

from contextlib import nullcontext

import numpy as np
import pytest

import solvers
from solvers import BatchResult, OptimizeWarning, minimize_batch
from tests.solvers.batch.cases import PROBLEMS, batched, model_case, starts

METHODS = ("L-BFGS-B", "BFGS", "Nelder-Mead")


def rosen_batch(X: np.ndarray) -> np.ndarray:
    """Rosenbrock on every row of X (k, d), vectorised; each row computed on its own."""
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


def _same(a: BatchResult, b: BatchResult, rows_a: np.ndarray) -> None:
    np.testing.assert_allclose(a.fun[rows_a], b.fun, rtol=1e-10, atol=1e-300)
    np.testing.assert_allclose(a.x[rows_a], b.x, rtol=1e-10, atol=1e-12)
    assert a.nit[rows_a].tolist() == b.nit.tolist()
    assert a.nfev[rows_a].tolist() == b.nfev.tolist()


@pytest.mark.parametrize("method", METHODS)
def test_a_start_does_not_depend_on_its_companions(method: str) -> None:
    """Solve a set, then subsets, a permutation and other companions: each start unchanged."""
    x0 = starts((-1.2, 1.0, 0.5, 0.8), 24, 1.0, seed=5)
    full = minimize_batch(rosen_batch, x0, method=method)
    rng = np.random.default_rng(9)
    perm = rng.permutation(24)
    _same(full, minimize_batch(rosen_batch, x0[perm], method=method), perm)
    subset = np.array([3, 17, 20])
    _same(full, minimize_batch(rosen_batch, x0[subset], method=method), subset)
    for i in (0, 11):  # alone
        _same(full, minimize_batch(rosen_batch, x0[[i]], method=method), np.array([i]))
    others = starts((2.0, 2.0, 2.0, 2.0), 30, 3.0, seed=6)  # different companions
    mixed = minimize_batch(rosen_batch, np.concatenate([others, x0[:5]]), method=method)
    _same(full, BatchResult(mixed.x[30:], mixed.fun[30:], mixed.jac[30:], mixed.success[30:],
                            mixed.status[30:], mixed.message[30:], mixed.nit[30:],
                            mixed.nfev[30:], mixed.njev[30:], method), np.arange(5))


def test_model_objective_runs_are_reproducible_across_batches() -> None:
    case = model_case("garch11", 10)
    full = minimize_batch(case.batch, case.starts, bounds=case.bounds)
    half = minimize_batch(case.batch, case.starts[5:], bounds=case.bounds)
    _same(full, half, np.arange(5, 10))


def test_finished_starts_drop_out_of_the_evaluated_rows() -> None:
    """An easy start converges early; later calls carry only the rows of the hard ones."""
    seen: list[np.ndarray] = []

    def fun(X: np.ndarray) -> np.ndarray:
        seen.append(X.copy())
        return rosen_batch(X)

    x0 = np.array([[1.0, 1.0], [1.0 + 1e-9, 1.0], [-1.2, 1.0], [-1.5, 2.0]])
    res = minimize_batch(fun, x0)
    assert res.nit[0] == 0 and res.nit[2] > 10
    assert seen[0].shape[0] == 4 * 3  # k * (d + 1) rows: values and FD gradients in one call
    later = np.concatenate(seen[3:])
    assert not np.any(np.all(later == x0[0], axis=1))
    total_rows = sum(X.shape[0] for X in seen)
    assert total_rows == res.nfev.sum()  # every evaluated row is counted for its start
    assert max(X.shape[0] for X in seen[-5:]) <= 3 * 2  # only stragglers remain at the end


def test_stragglers_finish_in_a_batch_of_their_own() -> None:
    """Many easy starts and one hard one: the easy ones cost what they cost alone, and the
    calls after they finish carry only the straggler's rows."""
    calls: list[int] = []

    def fun(X: np.ndarray) -> np.ndarray:
        calls.append(X.shape[0])
        return rosen_batch(X)

    easy = starts((1.0,) * 6, 40, 0.01, seed=3)
    hard = np.array([[-1.9, 2.0, -1.5, 1.8, -1.0, 0.5]])
    res = minimize_batch(fun, np.concatenate([easy, hard]))
    alone = minimize_batch(rosen_batch, easy)
    assert res.nfev[:40].tolist() == alone.nfev.tolist()
    assert res.nit[40] > 2 * res.nit[:40].max()
    tail = calls[-(res.nit[40] - res.nit[:40].max()):]
    assert max(tail) <= 7  # one start: at most its d + 1 rows per call


@pytest.mark.parametrize("method", ["L-BFGS-B", "Nelder-Mead"])
def test_bounds_are_honoured_by_every_evaluation(method: str) -> None:
    prob = PROBLEMS["box_on_bound"]
    lb, ub = np.zeros(3), np.ones(3)
    evaluated: list[np.ndarray] = []

    def fun(X: np.ndarray) -> np.ndarray:
        evaluated.append(X.copy())
        return batched(prob.fun)(X)

    x0 = starts(prob.x0, 20, 0.8, seed=4)  # some outside the box: clipped into it
    res = minimize_batch(fun, x0, method=method, bounds=prob.bounds)
    rows = np.concatenate(evaluated)
    assert (rows >= lb).all() and (rows <= ub).all()
    assert (res.x >= lb).all() and (res.x <= ub).all()
    with pytest.warns(OptimizeWarning) if method == "Nelder-Mead" else nullcontext():
        expected = [solvers.minimize(prob.fun, x, method=method, bounds=prob.bounds).fun
                    for x in x0]  # Nelder-Mead warns for starts outside the box
    assert np.all(res.fun <= np.array(expected) + 1e-6)


def test_projected_gradient_stop_on_a_bound() -> None:
    """A minimum on the bound converges by the projected gradient, not the raw gradient."""
    res = minimize_batch(lambda X: np.sum((X - 2.0) ** 2, axis=1), np.array([[0.0, 0.5]]),
                         jac=lambda X: 2.0 * (X - 2.0), bounds=[(0.0, 1.0), (0.0, 1.0)])
    np.testing.assert_allclose(res.x, [[1.0, 1.0]])
    assert res.success[0] and res.message[0].startswith("CONVERGENCE")
    assert np.abs(res.jac[0]).max() > 1.0


def test_result_record_and_per_start_results() -> None:
    x0 = starts((-1.2, 1.0), 3, 0.1, seed=1)
    res = minimize_batch(rosen_batch, x0, method="BFGS", trace=True)
    assert res.x.shape == (3, 2) and res.fun.shape == (3,) and len(res) == 3
    per = res.results()
    assert [r.fun for r in per] == res.fun.tolist() and per[1].nfev == res.nfev[1]
    assert per[2].message == "Optimization terminated successfully." and per[2].success
    assert isinstance(res[0], solvers.OptimizeResult) and res[-1].x.tolist() == res.x[2].tolist()
    arrays = res.traces[0].to_arrays() if res.traces else None
    assert arrays is not None and arrays.x.shape == (res.nit[0] + 1, 2)
    assert arrays.f[-1] == res.fun[0] and arrays.nfev[-1] <= res.nfev[0]
    assert np.all(np.diff(arrays.f) <= 0)
    with pytest.raises(IndexError):
        res[3]


def test_limits_tol_and_options() -> None:
    x0 = starts((-1.2, 1.0), 4, 0.1, seed=1)
    res = minimize_batch(rosen_batch, x0, options={"maxiter": 3})
    assert (res.nit == 3).all() and (res.status == 1).all()
    assert res.message[0] == "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"
    nm = minimize_batch(rosen_batch, x0, method="nelder-mead", options={"maxfev": 30})
    assert (nm.nfev <= 30).all() and (nm.status == 1).all()
    loose = minimize_batch(rosen_batch, x0, method="Nelder-Mead", tol=1e-1)
    tight = minimize_batch(rosen_batch, x0, method="Nelder-Mead", tol=1e-8)
    assert (loose.nfev < tight.nfev).all()
    with pytest.warns(OptimizeWarning, match="Unknown solver options: bogus"):
        minimize_batch(rosen_batch, x0, options={"bogus": 1})
    with pytest.raises(ValueError, match="Unknown batched method 'CG'"):
        minimize_batch(rosen_batch, x0, method="CG")
    empty = minimize_batch(rosen_batch, np.zeros((0, 2)))
    assert len(empty) == 0 and empty.x.shape == (0, 2)


def test_block_rows_split_calls_without_changing_results() -> None:
    sizes: list[int] = []

    def fun(X: np.ndarray) -> np.ndarray:
        sizes.append(X.shape[0])
        return rosen_batch(X)

    x0 = starts((-1.2, 1.0, 0.5), 10, 0.5, seed=8)
    whole = minimize_batch(rosen_batch, x0)
    blocks = minimize_batch(fun, x0, options={"block_rows": 7})
    assert max(sizes) == 7
    _same(whole, blocks, np.arange(10))


def test_a_start_at_the_noise_floor_of_f_stops_as_converged() -> None:
    """At the minimum the forward-difference gradient is all bias (h f''/2 > gtol); the
    quasi-Newton step predicts less decrease than ftol allows, finds none, and the start ends
    as converged by ftol after one trial instead of searching until ABNORMAL."""
    def bowl(X: np.ndarray) -> np.ndarray:
        return 1e3 * np.sum((X - 1.0) ** 2, axis=1) + 5.0

    res = minimize_batch(bowl, np.array([[1.0, 1.0, 1.0], [3.0, -2.0, 0.5]]))
    assert res.success.all()
    assert res.message[0] == "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
    assert res.nit[0] == 0 and res.nfev[0] == 2 * 4  # the start and one trial, d + 1 rows each
    np.testing.assert_allclose(res.x, 1.0, atol=1e-6)


def test_lockstep_rounds_are_the_most_trials_any_start_needs() -> None:
    """Every round evaluates each unfinished start once (value and FD gradient in one
    request), so the number of requests is the largest per-start trial count."""
    requests: list[int] = []

    def fun(X: np.ndarray) -> np.ndarray:
        requests.append(X.shape[0])
        return rosen_batch(X)

    x0 = starts((-1.2, 1.0, 0.5), 30, 0.8, seed=12)
    res = minimize_batch(fun, x0, options={"block_rows": 10 ** 6})
    trials = res.nfev // 4
    assert len(requests) == trials.max()
    assert requests[0] == 30 * 4 and requests[-1] == 4 * int(np.sum(trials == trials.max()))
