"""Batched versions of the catalogue problems and of calib's built-in models, and starts for them.

`batched(fun)` turns a per-point objective into ``F(X) -> (k,)`` by evaluating row by row (so it
is row-independent by construction); the built-in models bring their own vectorised objective.
`starts(x0, k, scale, seed)` spreads ``k`` starts around a catalogue start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.datasets import simulate_datasets
from calib.models import get_model
from tests.problems import PROBLEMS

FloatArray = npt.NDArray[np.float64]


def batched(fun: Callable[..., float]) -> Callable[..., FloatArray]:
    """``F(X, *args)``: ``fun`` on every row of ``X`` (k, d); returns (k,)."""
    def batch(X: FloatArray, *args: Any) -> FloatArray:
        return np.array([fun(x, *args) for x in X], dtype=float)
    return batch


def batched_jac(jac: Callable[..., FloatArray]) -> Callable[..., FloatArray]:
    """``G(X, *args)``: ``jac`` on every row of ``X`` (k, d); returns (k, d)."""
    def batch(X: FloatArray, *args: Any) -> FloatArray:
        return np.array([jac(x, *args) for x in X], dtype=float).reshape(X.shape)
    return batch


def starts(x0: tuple[float, ...] | FloatArray, k: int, scale: float, seed: int,
           bounds: Any = None) -> FloatArray:
    """``k`` starts: ``x0`` plus uniform noise of half-width ``scale`` (clipped into bounds)."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x0, dtype=float) + rng.uniform(-scale, scale, (k, len(x0)))
    if bounds is not None:
        lb = np.array([-np.inf if lo is None else lo for lo, _ in bounds])
        ub = np.array([np.inf if hi is None else hi for _, hi in bounds])
        x = np.clip(x, lb, ub)
    return x


@dataclass(frozen=True)
class ModelCase:
    """A built-in model on one simulated dataset: batched and scalar objectives, box, starts."""

    name: str
    batch: Callable[[FloatArray], FloatArray]
    scalar: Callable[[FloatArray], float]
    bounds: list[tuple[float, float]]
    starts: FloatArray


#: (truth, number of points, start box) per built-in model
MODEL_SETUPS: dict[str, tuple[dict[str, float], int, list[tuple[float, float]]]] = {
    "normal": ({"mu": 3.0, "sigma": 1.7}, 300, [(-10.0, 10.0), (0.1, 10.0)]),
    "linear": ({"a": 2.5, "b": -1.0}, 60, [(-10.0, 10.0), (-10.0, 10.0)]),
    "sinusoid": ({"a": 1.8, "b": 0.3, "c": -0.7}, 80, [(-5.0, 5.0), (-2.0, 2.0), (-5.0, 5.0)]),
    "garch11": ({"omega": 0.05, "alpha": 0.08, "beta": 0.9}, 400,
                [(0.01, 0.2), (0.02, 0.2), (0.6, 0.95)]),
    "ou": ({"theta": 1.5, "mu": 0.3, "sigma": 0.4}, 300, [(0.3, 5.0), (-1.0, 1.0), (0.1, 1.0)]),
}


def model_case(name: str, k: int, seed: int = 3) -> ModelCase:
    """The built-in model ``name`` on a simulated dataset, with ``k`` starts drawn in a box."""
    model = get_model(name)
    truth, n_points, box = MODEL_SETUPS[name]
    data = simulate_datasets(model, truth, 1, n_points, seed=11)[0].values
    bounds = [(p.lower, p.upper) for p in model.parameters]
    rng = np.random.default_rng(seed)
    lo, hi = np.array(box).T
    x0 = rng.uniform(lo, hi, (k, len(bounds)))
    return ModelCase(name, lambda X: model.objective_batch(X, data),
                     lambda x: float(model.objective(x, data)), bounds, x0)


__all__ = ["PROBLEMS", "ModelCase", "MODEL_SETUPS", "batched", "batched_jac", "model_case",
           "starts"]
