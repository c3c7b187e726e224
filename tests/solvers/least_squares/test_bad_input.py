"""Bad input raises scipy's exception type with scipy's message (and warns as scipy warns)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
import scipy.optimize

from solvers import least_squares


def trivial(x: np.ndarray, a: float = 0.0) -> np.ndarray:
    return (x - a) ** 2 + 5.0


def rosen(x: np.ndarray) -> np.ndarray:
    return np.array([10 * (x[1] - x[0] ** 2), 1 - x[0]])


def one_residual(x: np.ndarray) -> np.ndarray:
    return np.array([10 * (x[1] - x[0] ** 2)])


BAD_CALLS: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "method": (trivial, 2.0, {"method": "newton"}),
    "jac": (trivial, 2.0, {"jac": "oops"}),
    "tr_solver": (trivial, 2.0, {"tr_solver": "best"}),
    "loss": (trivial, 2.0, {"loss": "hinge"}),
    "lm_loss": (trivial, 2.0, {"method": "lm", "loss": "huber"}),
    "verbose": (trivial, 2.0, {"verbose": 3}),
    "max_nfev": (trivial, 2.0, {"max_nfev": 0}),
    "complex_x0": (trivial, 2.0 + 0j, {}),
    "x0_2d": (trivial, np.ones((2, 2)), {}),
    "bounds_count": (trivial, 2.0, {"bounds": (1.0, 2.0, 3.0)}),
    "lm_bounds": (trivial, 2.0, {"method": "lm", "bounds": (-3.0, 3.0)}),
    "bounds_shape": (rosen, [1.0, 2.0], {"bounds": ([0.0], [3.0, 4.0])}),
    "bounds_order": (trivial, 2.0, {"bounds": (10.0, 0.0)}),
    "infeasible": (trivial, 2.0, {"bounds": (3.0, 4.0)}),
    "x_scale_word": (trivial, 2.0, {"x_scale": "auto"}),
    "x_scale_negative": (trivial, 2.0, {"x_scale": -1.0}),
    "x_scale_shape": (trivial, 2.0, {"x_scale": [1.0, 2.0]}),
    "no_tolerance": (trivial, 2.0, {"ftol": None, "xtol": None, "gtol": None}),
    "lm_small_tolerance": (trivial, 2.0, {"method": "lm", "xtol": 1e-17}),
    "fun_2d": (lambda x: np.ones((2, 2)), 2.0, {}),
    "fun_not_finite": (lambda x: np.array([np.nan]), 2.0, {}),
    "lm_m_less_n": (one_residual, [-2.0, 1.0], {"method": "lm"}),
    "jac_shape": (trivial, 2.0, {"jac": lambda x: np.ones((2, 2))}),
    "jac_sparsity_shape": (rosen, [1.0, 2.0], {"jac_sparsity": np.ones((1, 2))}),
    "lm_jac_sparsity": (trivial, 2.0, {"method": "lm", "jac_sparsity": [1]}),
    "exact_with_sparsity": (rosen, [1.0, 2.0], {"tr_solver": "exact",
                                                "jac_sparsity": np.ones((2, 2))}),
    "loss_shape": (trivial, 2.0, {"loss": lambda z: np.ones((2, 1))}),
}


@pytest.mark.parametrize("name", sorted(BAD_CALLS))
def test_same_error_as_scipy(name: str) -> None:
    fun, x0, kwargs = BAD_CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tolerance warnings; checked below
        with pytest.raises(Exception) as ref:
            scipy.optimize.least_squares(fun, x0, **kwargs)
        with pytest.raises(type(ref.value)) as ours:
            least_squares(fun, x0, **kwargs)
    assert str(ours.value) == str(ref.value)


@pytest.mark.parametrize("kwargs", [{"args": (3, 4)}, {"kwargs": {"kaboom": 3}}],
                         ids=["args", "kwargs"])
def test_wrong_extra_arguments_reach_fun(kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        least_squares(trivial, 2.0, **kwargs)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        least_squares(trivial, 2.0, options={"max_nfev": 100})  # type: ignore[call-arg]


def test_tolerance_below_eps_warns_as_scipy() -> None:
    with pytest.warns(UserWarning, match=r"Setting `ftol` below the machine epsilon"):
        res = least_squares(trivial, 2.0, ftol=1e-20)
    assert res.success


def test_callback_with_lm_warns() -> None:
    with pytest.warns(UserWarning, match="Callback function specified, but not supported"):
        least_squares(trivial, [0.0], method="lm", callback=lambda x: None)


def test_regularize_with_dogbox_lsmr_warns() -> None:
    with pytest.warns(UserWarning, match="'regularize' in `tr_options` is not relevant"):
        least_squares(rosen, [-2.0, 1.0], method="dogbox", tr_solver="lsmr",
                      tr_options={"regularize": True})


def test_unknown_lsmr_option_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        least_squares(rosen, [-2.0, 1.0], tr_solver="lsmr", tr_options={"tol": 1e-10})
