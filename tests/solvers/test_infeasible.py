"""Every constrained method ends an infeasible problem unsuccessfully, saying so, without hanging."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import solvers
from solvers._registry import METHODS

from .constrained_problems import INFEASIBLE, without_jac

CONSTRAINED = [spec.name for spec in METHODS.values()
               if spec.supports_constraints]


@pytest.mark.parametrize("method", CONSTRAINED)
def test_infeasible_problem_says_the_constraints_could_not_be_satisfied(method: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. trust-constr's own warnings on infeasibility
        res = solvers.minimize(INFEASIBLE.fun, np.array(INFEASIBLE.x0), method=method,
                               constraints=without_jac(INFEASIBLE.constraints),
                               bounds=INFEASIBLE.bounds)
    assert not res.success
    assert "The constraints could not be satisfied" in res.message
    assert np.all(np.isfinite(res.x))


@pytest.mark.parametrize("method", CONSTRAINED)
def test_a_feasible_solution_keeps_scipys_message(method: str) -> None:
    from .constrained_problems import DOCSTRING

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # trust-constr's BFGS warns on a linear constraint, as scipy's
        res = solvers.minimize(DOCSTRING.fun, np.array(DOCSTRING.x0), method=method,
                               constraints=list(DOCSTRING.constraints), bounds=DOCSTRING.bounds)
    assert res.success
    assert "could not be satisfied" not in res.message
    np.testing.assert_allclose(res.x, [1.4, 1.7], atol=1e-3)
