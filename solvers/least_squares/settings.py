"""The validated settings every least-squares method receives, and the raw outcome it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from .losses import Loss

__all__ = ["Settings", "Outcome"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Settings:
    """Tolerances, budget and choices of one run (validated by `least_squares`).

    Attributes
    ----------
    ftol, xtol, gtol : float
        Tolerances (0 disables one).
    max_nfev : int
        Budget of residual evaluations (finite-difference ones not counted, as in scipy).
    x_scale : ndarray (n,) or 'jac'
        Characteristic scale of each variable, or scaling by the Jacobian's column norms.
    loss : Loss or None
        Robust loss (None: plain least squares).
    tr_solver : str
        'exact' (dense SVD) or 'lsmr' (LSMR and a 2-d subspace).
    tr_options : dict
        Keyword arguments of the LSMR solver (plus 'regularize' for trf).
    """

    ftol: float
    xtol: float
    gtol: float
    max_nfev: int
    x_scale: FloatArray | str
    loss: Loss | None
    tr_solver: str = "exact"
    tr_options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What a method found: the fields of scipy's result before message and success."""

    x: FloatArray
    cost: float
    fun: FloatArray
    jac: FloatArray
    grad: FloatArray
    optimality: float
    active_mask: npt.NDArray[Any]
    nfev: int
    njev: int | None
    status: int
