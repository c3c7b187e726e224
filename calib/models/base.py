"""The `Model` record shared by the built-in models, and the small checks their objectives use.

A model bundles what a calibration needs to know about one statistical model: its default
parameters (names, bounds, log flags), the data columns its objective reads, the objective
(minimised: a negative log-likelihood or a sum of squares), a vectorised twin of the objective
over a ``(k, p)`` batch of parameter vectors, and an exact simulator used by demos and tests.
Every callable is a module-level function, so a `Model` pickles by reference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from calib.errors import DatasetError, ProblemError
from calib.parameters import Parameter

__all__ = ["LOG_2PI", "FloatArray", "Model", "as_batch", "as_data", "check_vector"]

FloatArray = npt.NDArray[np.float64]

#: ln(2 pi), the constant of every Gaussian log-likelihood
LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Model:
    """A built-in model: default parameters, data columns, objective, batch objective, simulator.

    Attributes
    ----------
    name : str
        Registry name (``'linear'``, ``'normal'``, ``'sinusoid'``, ``'ou'``, ``'garch11'``).
    parameters : tuple of Parameter
        Default parameter names, bounds and log flags, in the order the objective reads them.
    columns : tuple of str
        Names of the data columns the objective reads, in order (e.g. ``('x', 'y')``).
    objective : callable
        ``objective(params, data) -> float``: ``params`` has shape ``(p,)`` in natural units,
        ``data`` has shape ``(n_obs, len(columns))``; the value is minimised.
    objective_batch : callable
        ``objective_batch(params, data) -> ndarray``: ``params`` has shape ``(k, p)``; returns
        shape ``(k,)`` whose row ``i`` equals ``objective(params[i], data)`` (to rounding).
    simulate : callable
        ``simulate(truth, n_points, rng) -> data``: ``truth`` has shape ``(p,)``; returns
        ``(n_points, len(columns))`` float64 data drawn from the model with ``rng``.
    kind : str
        What the objective is: ``'nll'`` (a negative log-likelihood) or ``'sse'`` (a plain sum
        of squared residuals); decides how standard errors are formed.
    residuals : callable, optional
        For an ``'sse'`` model: ``residuals(params (p,), data) -> (n_obs,)`` whose sum of
        squares is ``objective``; lets the least-squares methods (trf, dogbox, lm) run on it.
    residuals_batch : callable, optional
        ``residuals_batch(params (k, p), data) -> (k, n_obs)``, the vectorised twin.
    """

    name: str
    parameters: tuple[Parameter, ...]
    columns: tuple[str, ...]
    objective: Callable[[FloatArray, FloatArray], float]
    objective_batch: Callable[[FloatArray, FloatArray], FloatArray]
    simulate: Callable[[FloatArray, int, np.random.Generator], FloatArray]
    kind: str = "nll"
    residuals: Callable[[FloatArray, FloatArray], FloatArray] | None = None
    residuals_batch: Callable[[FloatArray, FloatArray], FloatArray] | None = None

    @property
    def parameter_names(self) -> tuple[str, ...]:
        """Names of the default parameters, in objective order."""
        return tuple(p.name for p in self.parameters)


def as_data(data: npt.ArrayLike, n_columns: int, model: str) -> FloatArray:
    """Return ``data`` as a 2-d float array with ``n_columns`` columns.

    Parameters
    ----------
    data : array_like
        Shape ``(n_obs, n_columns)``; a 1-d array is accepted when ``n_columns == 1``.
    n_columns : int
        Number of columns the model reads.
    model : str
        Model name, used in the error message.

    Raises
    ------
    DatasetError
        When the shape does not fit.
    """
    arr = np.asarray(data, dtype=np.float64)
    if arr.ndim == 1 and n_columns == 1:
        arr = arr[:, np.newaxis]
    if arr.ndim != 2 or arr.shape[1] != n_columns:
        raise DatasetError(
            f"model {model!r} needs data of shape (n_obs, {n_columns}), got shape {arr.shape}")
    return arr


def as_batch(params: npt.ArrayLike, n_params: int, model: str) -> FloatArray:
    """Return ``params`` as a ``(k, n_params)`` float array (a 1-d vector becomes ``k = 1``).

    Raises
    ------
    ProblemError
        When the last dimension is not ``n_params`` or the array has more than 2 dimensions.
    """
    arr = np.asarray(params, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2 or arr.shape[1] != n_params:
        raise ProblemError(
            f"model {model!r} takes a (k, {n_params}) batch of parameters, got shape {arr.shape}")
    return arr


def check_vector(params: npt.ArrayLike, n_params: int, model: str) -> FloatArray:
    """Return ``params`` as a ``(n_params,)`` float array or raise a `ProblemError`."""
    arr = np.asarray(params, dtype=np.float64)
    if arr.shape != (n_params,):
        raise ProblemError(
            f"model {model!r} takes {n_params} parameters, got shape {arr.shape}")
    return arr
