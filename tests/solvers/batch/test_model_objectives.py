"""The sinusoid model's O(1)-per-row batched objective agrees with the direct sum of squares."""

from __future__ import annotations

import numpy as np
import pytest

from calib.models import sinusoid


def direct(params: np.ndarray, data: np.ndarray) -> np.ndarray:
    x, y = data[:, 0], data[:, 1]
    residual = y - (params[:, :1] * np.sin(x) + params[:, 1:2] * x + params[:, 2:3])
    return np.sum(residual * residual, axis=1)


@pytest.mark.parametrize("n_points", [3, 20, 200, 5000])
def test_batched_sinusoid_equals_the_direct_sum(n_points: int) -> None:
    rng = np.random.default_rng(n_points)
    truth = np.array([1.8, 0.3, -0.7])
    data = sinusoid.simulate(truth, n_points, rng)
    params = np.concatenate([rng.uniform(-100.0, 100.0, (300, 3)),
                             truth + rng.normal(0.0, 1e-4, (300, 3))])
    np.testing.assert_allclose(sinusoid.objective_batch(params, data), direct(params, data),
                               rtol=1e-13, atol=1e-12)


def test_rows_are_independent_of_their_batch() -> None:
    rng = np.random.default_rng(2)
    data = sinusoid.simulate(np.array([1.0, 0.1, 0.0]), 80, rng)
    params = rng.uniform(-5.0, 5.0, (64, 3))
    full = sinusoid.objective_batch(params, data)
    for rows in (slice(0, 1), slice(5, 9), slice(None, None, -1)):
        assert np.array_equal(sinusoid.objective_batch(params[rows], data), full[rows])


@pytest.mark.parametrize("data", [
    np.column_stack([np.full(10, 0.5), np.linspace(0.0, 1.0, 10)]),   # one x: singular design
    np.array([[0.0, 1.0], [1.0, np.nan], [2.0, 0.5]]),                # a NaN observation
])
def test_degenerate_data_fall_back_to_the_direct_sum(data: np.ndarray) -> None:
    params = np.array([[1.0, 2.0, 3.0], [0.0, -1.0, 0.5]])
    np.testing.assert_array_equal(np.isnan(sinusoid.objective_batch(params, data)),
                                  np.isnan(direct(params, data)))
    np.testing.assert_allclose(sinusoid.objective_batch(params, data), direct(params, data),
                               rtol=1e-13)
