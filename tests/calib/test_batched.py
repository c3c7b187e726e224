"""Tests of `calib.batched`: when starts run through the batched core, and what they give."""

from __future__ import annotations

import numpy as np
import pytest

from calib.batched import batch_applies, run_batch
from calib.constraints import parse_linear_expression
from calib.datasets import Dataset
from calib.errors import ProblemError
from calib.parameters import Parameter
from calib.problem import Problem
from calib.run import run_start
from calib.status import StartStatus

TRUTH = np.array([1.5, 0.2])          # natural units; the second parameter is log-scaled
PARAMS = (Parameter("a", -5.0, 5.0), Parameter("b", 1e-3, 10.0, log=True))
DATASET = Dataset(name="sim-000", values=TRUTH[None, :], columns=("a", "b"))
STARTS = np.array([[-3.0, 5.0], [4.0, 0.01], [0.5, 1.0], [-1.0, 0.05], [2.5, 8.0]])


def quadratic(params: np.ndarray, data: np.ndarray) -> float:
    """Minimum 0 at the data row, in log space for the second parameter."""
    return float((params[0] - data[0, 0]) ** 2 + np.log(params[1] / data[0, 1]) ** 2)


def quadratic_batch(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    return (params[:, 0] - data[0, 0]) ** 2 + np.log(params[:, 1] / data[0, 1]) ** 2


def nan_for_negative_start_region(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    """NaN wherever a < -2: only the start at a = -3 sees it (at its very first point)."""
    values = quadratic_batch(params, data)
    return np.where(params[:, 0] < -2.0, np.nan, values)


def problem(method: str = "L-BFGS-B", batch: object = quadratic_batch, **kwargs: object) -> Problem:
    return Problem(objective=quadratic, parameters=PARAMS, dataset=DATASET, method=method,
                   objective_batch=batch, **kwargs)  # type: ignore[arg-type]


def test_batch_applies_only_to_vectorised_unconstrained_problems_of_batched_methods() -> None:
    assert batch_applies(problem())
    assert batch_applies(problem("BFGS")) and batch_applies(problem("Nelder-Mead"))
    assert not batch_applies(problem(batch=None))
    assert not batch_applies(problem("TNC"))
    constrained = problem("SLSQP", constraints=(parse_linear_expression("a <= 1", ("a", "b")),))
    assert not batch_applies(constrained)


@pytest.mark.parametrize("method", ["L-BFGS-B", "BFGS", "Nelder-Mead"])
def test_batched_starts_reach_the_per_start_minimum(method: str) -> None:
    pb = problem(method, trace=True)
    batched = run_batch(pb, STARTS, 10)
    single = [run_start(pb, x0, 10 + i) for i, x0 in enumerate(STARTS)]
    assert [o.start for o in batched] == list(range(10, 15))
    for b, s in zip(batched, single):
        assert b.status is StartStatus.CONVERGED and b.success, b.message
        np.testing.assert_array_equal(b.x0, s.x0)
        assert b.fun <= s.fun + 1e-6 * max(1.0, abs(s.fun)) and b.fun < 1e-8
        np.testing.assert_allclose(b.x, TRUTH, rtol=1e-3)
        assert b.trace is not None  # natural units: row 0 is the start, the last row is x
        np.testing.assert_allclose(b.trace.x[0], b.x0, rtol=1e-12)
        np.testing.assert_allclose(b.trace.x[-1], b.x, rtol=1e-12)
        assert b.nfev > 0 and b.nit > 0 and b.seconds > 0


def test_a_start_does_not_depend_on_its_batch_companions() -> None:
    pb = problem()
    together = run_batch(pb, STARTS, 0)
    for i in (0, 3):
        alone = run_batch(pb, STARTS[i:i + 1], i)[0]
        np.testing.assert_allclose(alone.x, together[i].x, rtol=1e-10)
        assert alone.fun == pytest.approx(together[i].fun, rel=1e-10, abs=1e-300)
        assert alone.nfev == together[i].nfev


def test_a_non_finite_row_fails_only_its_own_start() -> None:
    outcomes = run_batch(problem(batch=nan_for_negative_start_region), STARTS, 0)
    assert outcomes[0].status is StartStatus.FAILED and not outcomes[0].success
    assert "non-finite" in outcomes[0].message and outcomes[0].trace is None
    assert all(o.status is StartStatus.CONVERGED for o in outcomes[1:])


def test_a_spent_time_limit_reruns_every_start_alone_and_records_time_outs() -> None:
    outcomes = run_batch(problem(), STARTS[:2], 0, time_limit=1e-9)
    assert [o.status for o in outcomes] == [StartStatus.TIMEOUT, StartStatus.TIMEOUT]
    assert all("time limit" in o.message for o in outcomes)


def test_bad_calls_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot run batched"):
        run_batch(problem("TNC"), STARTS, 0)
    with pytest.raises(ProblemError, match="start 7"):
        run_batch(problem(), np.array([[0.0, 1.0], [9.0, 1.0]]), 6)
    with pytest.raises(ProblemError, match="time_limit"):
        run_batch(problem(), STARTS, 0, time_limit=0.0)
