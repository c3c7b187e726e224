"""Ours against scipy's `least_squares` on the curve-fitting problems, each method x loss x
Jacobian: the same minimiser and the same evaluation counts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import scipy.optimize

from solvers import least_squares

from .problems import PROBLEMS, LsqProblem

LOSSES = ("linear", "soft_l1", "huber", "cauchy", "arctan")


def _cases() -> list[Any]:
    cases = []
    for problem in PROBLEMS:
        for method in ("trf", "dogbox", "lm"):
            if method == "lm" and problem.bounded:
                continue
            for loss in LOSSES if method != "lm" else ("linear",):
                for analytic in (True, False):
                    cases.append(pytest.param(problem, method, loss, analytic, id=(
                        f"{problem.name}-{method}-{loss}-{'jac' if analytic else 'fd'}")))
    return cases


def _run_both(problem: LsqProblem, method: str, loss: str, analytic: bool,
              **extra: Any) -> tuple[Any, Any]:
    kwargs = dict(method=method, loss=loss, jac=problem.jac if analytic else "2-point",
                  bounds=problem.bounds, **problem.options, **extra)
    return (least_squares(problem.fun, problem.x0, **kwargs),
            scipy.optimize.least_squares(problem.fun, problem.x0, **kwargs))


def assert_same_minimiser(ours: Any, ref: Any) -> None:
    """x within 1e-6 relative, or the cost within 1e-10 relative."""
    x_close = np.allclose(ours.x, ref.x, rtol=1e-6, atol=0)
    cost_close = abs(ours.cost - ref.cost) <= 1e-10 * abs(ref.cost)
    assert x_close or cost_close, (ours.x, ref.x, ours.cost, ref.cost)


@pytest.mark.parametrize(("problem", "method", "loss", "analytic"), _cases())
def test_same_minimiser_and_counts(problem: LsqProblem, method: str, loss: str,
                                   analytic: bool) -> None:
    ours, ref = _run_both(problem, method, loss, analytic)
    assert_same_minimiser(ours, ref)
    assert ours.success == ref.success
    if analytic:  # same algorithm, same numbers: the same counts
        assert (ours.nfev, ours.njev) == (ref.nfev, ref.njev)
    else:  # finite differences round differently in the last digits
        assert ours.nfev <= 1.5 * ref.nfev
        assert ours.njev is None if method == "lm" else ours.njev <= 1.5 * ref.njev
    np.testing.assert_allclose(ours.fun, problem.fun(ours.x), rtol=0, atol=0)


@pytest.mark.parametrize("problem", [p for p in PROBLEMS if p.name != "x_scale_jac"],
                         ids=lambda p: p.name)
@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_lsmr_solver_agrees(problem: LsqProblem, method: str) -> None:
    ours, ref = _run_both(problem, method, "linear", True, tr_solver="lsmr")
    assert_same_minimiser(ours, ref)
    assert ours.nfev <= 1.5 * ref.nfev


@pytest.mark.parametrize("method", ["trf", "dogbox"])
def test_active_bound_reported(method: str) -> None:
    problem = next(p for p in PROBLEMS if p.name == "bounded_decay")
    ours, ref = _run_both(problem, method, "linear", True)
    np.testing.assert_array_equal(ours.active_mask, ref.active_mask)
    assert ours.active_mask.tolist() == [0, 1, 0]  # the rate sits on its upper bound
    np.testing.assert_allclose(ours.grad, ref.grad, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours.optimality, ref.optimality, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("method", ["trf", "dogbox", "lm"])
@pytest.mark.parametrize("scheme", ["3-point", "cs"])
def test_other_difference_schemes(method: str, scheme: str) -> None:
    problem = PROBLEMS[0]
    ours = least_squares(problem.fun, problem.x0, jac=scheme, method=method)
    ref = scipy.optimize.least_squares(problem.fun, problem.x0, jac=scheme, method=method)
    assert_same_minimiser(ours, ref)
    assert ours.nfev == ref.nfev


def test_callable_loss_agrees() -> None:
    def cubic(z: np.ndarray) -> np.ndarray:
        t = 1 + z
        return np.vstack((3 * (t ** (1 / 3) - 1), t ** (-2 / 3), -2 / 3 * t ** (-5 / 3)))

    problem = next(p for p in PROBLEMS if p.name == "large_residual")
    ours = least_squares(problem.fun, problem.x0, problem.jac, loss=cubic, f_scale=0.1)
    ref = scipy.optimize.least_squares(problem.fun, problem.x0, problem.jac, loss=cubic,
                                       f_scale=0.1)
    assert_same_minimiser(ours, ref)
    assert ours.nfev == ref.nfev
