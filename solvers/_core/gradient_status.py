"""Gradient norms and the final status shared by the gradient methods (BFGS, CG).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from .._result import MESSAGES

FloatArray = npt.NDArray[np.float64]

__all__ = ['final_status', 'vecnorm']



def vecnorm(x: FloatArray, ord: float = 2) -> float:
    """The ``ord``-norm of a vector as scipy's gradient tests compute it (inf: max, -inf: min)."""
    if ord == np.inf:
        return float(np.abs(x).max())
    if ord == -np.inf:
        return float(np.abs(x).min())
    return float(np.sum(np.abs(x) ** ord, axis=0) ** (1.0 / ord))


def final_status(line_search_failed: bool, nit: int, maxiter: int, gnorm: float, fval: float,
                 x: FloatArray) -> tuple[int, str]:
    """scipy's status code and message for BFGS and CG: 2, 1, 3 or 0, checked in that order."""
    if line_search_failed:
        return 2, MESSAGES["pr_loss"]
    if nit >= maxiter:
        return 1, MESSAGES["maxiter"]
    if np.isnan(gnorm) or np.isnan(fval) or np.isnan(x).any():
        return 3, MESSAGES["nan"]
    return 0, MESSAGES["success"]
