"""Bad input: a wrong shape fails the call; NaN/inf rows and exceptions fail only their starts."""

from __future__ import annotations

import numpy as np
import pytest

from solvers import minimize_batch
from solvers.batch import BatchShapeError

METHODS = ("L-BFGS-B", "BFGS", "Nelder-Mead")
NAN_STATUS = {"L-BFGS-B": 2, "BFGS": 3, "Nelder-Mead": 3}


def sphere(X: np.ndarray) -> np.ndarray:
    return np.sum((X - 0.5) ** 2, axis=1)


def _starts() -> np.ndarray:
    return np.random.default_rng(0).uniform(-2.0, 2.0, (8, 3))


@pytest.mark.parametrize("method", METHODS)
def test_wrong_shape_is_a_programming_error(method: str) -> None:
    with pytest.raises(BatchShapeError, match=r"must return shape \(32,\) .*got shape \(32, 1\)"
                       if method != "Nelder-Mead" else r"got shape \(32, 1\)"):
        minimize_batch(lambda X: sphere(X)[:, None], _starts(), method=method)
    with pytest.raises(ValueError, match=r"got shape \(\)"):
        minimize_batch(lambda X: float(sphere(X).sum()), _starts(), method=method)


def test_wrong_gradient_shape_and_x0_shape() -> None:
    with pytest.raises(BatchShapeError, match=r"gradient must have shape \(8, 3\)"):
        minimize_batch(sphere, _starts(), jac=lambda X: X[:, :2])
    with pytest.raises(ValueError, match=r"x0 must have shape \(k, d\).*got shape \(3,\)"):
        minimize_batch(sphere, np.zeros(3))
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        minimize_batch(sphere, np.array([[0.0, 1.0], [np.nan, 0.0]]))


def _each_alone_matches(res: object, fun: object, x0: np.ndarray, method: str) -> None:
    """Every start of the batch ends exactly as it ends when run alone."""
    for i in range(x0.shape[0]):
        alone = minimize_batch(fun, x0[[i]], method=method)  # type: ignore[arg-type]
        assert res.message[i] == alone.message[0]  # type: ignore[attr-defined]
        assert res.status[i] == alone.status[0]  # type: ignore[attr-defined]
        np.testing.assert_allclose(res.x[i], alone.x[0], rtol=1e-12)  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("method", METHODS)
def test_non_finite_rows_fail_only_their_starts(method: str, value: float) -> None:
    """Points with x_0 > 1.5 give `value`: starts that meet one fail, naming it; others converge."""
    def fun(X: np.ndarray) -> np.ndarray:
        return np.where(X[:, 0] > 1.5, value, sphere(X))

    x0 = _starts()
    res = minimize_batch(fun, x0, method=method)
    broken = x0[:, 0] > 1.5
    assert broken.any() and res.success.sum() >= 4
    assert not res.success[broken].any()
    for i in np.flatnonzero(~res.success):
        assert res.status[i] == NAN_STATUS[method] and f"({value!r})" in res.message[i]
    np.testing.assert_allclose(res.x[res.success], 0.5, atol=1e-3)
    _each_alone_matches(res, fun, x0, method)


@pytest.mark.parametrize("method", METHODS)
def test_exceptions_are_isolated_to_their_starts(method: str) -> None:
    """fun raises on a batch holding a bad row: rows are redone one by one, only bad starts fail."""
    def fun(X: np.ndarray) -> np.ndarray:
        if np.any(X[:, 1] < -1.0):
            raise ArithmeticError(f"bad parameter {X[:, 1].min():.3f}")
        return sphere(X)

    x0 = _starts()
    res = minimize_batch(fun, x0, method=method)
    broken = x0[:, 1] < -1.0
    assert broken.any() and res.success.sum() >= 4
    assert not res.success[broken].any()
    for i in np.flatnonzero(~res.success):
        assert res.message[i].startswith("The objective function raised ArithmeticError: bad "
                                         "parameter")
    _each_alone_matches(res, fun, x0, method)
    clean = minimize_batch(sphere, x0[res.success], method=method)
    assert res.nfev[res.success].tolist() == clean.nfev.tolist()


def test_exception_in_a_batched_gradient_fails_its_start() -> None:
    def jac(X: np.ndarray) -> np.ndarray:
        if np.any(X[:, 2] > 1.9):
            raise RuntimeError("gradient blew up")
        return 2.0 * (X - 0.5)

    x0 = _starts()
    x0[3, 2] = 1.95
    res = minimize_batch(sphere, x0, jac=jac)
    assert not res.success[3] and "RuntimeError: gradient blew up" in res.message[3]
    assert res.success[np.arange(8) != 3].all()
