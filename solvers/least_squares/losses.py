"""Robust loss functions ``rho(z)`` of the squared residuals ``z = (f / f_scale)**2``.

Each built-in loss returns ``rho`` of shape (3, m): the loss, its first and its second
derivative with respect to ``z``.  `make_loss` scales a loss by ``f_scale`` as scipy does, and
`scale_for_robust_loss` turns ``(J, f)`` into the Jacobian and residuals whose plain
least-squares model has the robust cost's gradient and Gauss-Newton Hessian.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from .common import EPS

__all__ = ["LOSSES", "Loss", "cost_of", "linearize", "make_loss", "scale_for_robust_loss"]

FloatArray = npt.NDArray[np.float64]


def _huber(z: FloatArray) -> FloatArray:
    inlier = z <= 1
    outer = np.where(inlier, 1.0, z)
    rho = np.empty((3, z.size))
    rho[0] = np.where(inlier, z, 2 * outer**0.5 - 1)
    rho[1] = np.where(inlier, 1.0, outer**-0.5)
    rho[2] = np.where(inlier, 0.0, -0.5 * outer**-1.5)
    return rho


def _soft_l1(z: FloatArray) -> FloatArray:
    t = 1 + z
    return np.vstack((2 * (t**0.5 - 1), t**-0.5, -0.5 * t**-1.5))


def _cauchy(z: FloatArray) -> FloatArray:
    t = 1 + z
    return np.vstack((np.log1p(z), 1 / t, -1 / t**2))


def _arctan(z: FloatArray) -> FloatArray:
    t = 1 + z**2
    return np.vstack((np.arctan(z), 1 / t, -2 * z / t**2))


#: built-in losses by name ('linear' has no function: plain least squares).
LOSSES: dict[str, Callable[[FloatArray], FloatArray] | None] = {
    "linear": None, "huber": _huber, "soft_l1": _soft_l1, "cauchy": _cauchy,
    "arctan": _arctan}


@dataclass(frozen=True)
class Loss:
    """A loss ``rho`` scaled by ``f_scale``: ``cost(f) = 0.5 sum(rho(f))``.

    Attributes
    ----------
    rho_of_z : callable
        ``z (m,) -> (3, m)``: the loss of ``z = (f / f_scale)**2`` and its derivatives.
    f_scale : float
        The soft margin between inlier and outlier residuals.
    """

    rho_of_z: Callable[[FloatArray], Any]
    f_scale: float

    def rho(self, f: FloatArray) -> FloatArray:
        """``rho`` (3, m) of the residuals ``f``, in ``f``'s units (scaled by ``f_scale``)."""
        rho = np.array(self.rho_of_z((f / self.f_scale) ** 2), dtype=float)
        rho[0] *= self.f_scale**2
        rho[2] /= self.f_scale**2
        return rho

    def cost(self, f: FloatArray) -> float:
        """``0.5 * sum(rho(f))``."""
        values = np.asarray(self.rho_of_z((f / self.f_scale) ** 2), dtype=float)[0]
        return 0.5 * self.f_scale**2 * float(np.sum(values))


def make_loss(loss: str | Callable[[FloatArray], Any], f_scale: float) -> Loss | None:
    """The `Loss` for a name in `LOSSES` or a callable ``rho(z)``; None for 'linear'."""
    if isinstance(loss, str):
        function = LOSSES[loss]
        return None if function is None else Loss(function, f_scale)
    return Loss(loss, f_scale)


def scale_for_robust_loss(J: FloatArray, f: FloatArray, rho: FloatArray
                          ) -> tuple[FloatArray, FloatArray]:
    """Scaled ``(J, f)`` (new arrays) for the robust loss with derivatives ``rho`` (3, m).

    Rows are multiplied by ``sqrt(max(rho' + 2 rho'' f**2, EPS))`` and the residuals by
    ``rho'`` over that factor.
    """
    weight = rho[1] + 2 * rho[2] * f**2
    weight[weight < EPS] = EPS
    weight = weight**0.5
    return J * weight[:, np.newaxis], f * (rho[1] / weight)


def cost_of(f: FloatArray, loss: Loss | None) -> float:
    """The cost ``0.5 sum(rho(f_i**2))`` of residuals ``f`` (m,) (``0.5 ||f||**2`` if linear)."""
    return 0.5 * float(np.dot(f, f)) if loss is None else loss.cost(f)


def linearize(J: FloatArray, f: FloatArray, loss: Loss | None
              ) -> tuple[FloatArray, FloatArray, float]:
    """``(J, f, cost)`` of the model at a point: scaled for the robust loss when there is one."""
    if loss is None:
        return J, f, 0.5 * float(np.dot(f, f))
    rho = loss.rho(f)
    J, f = scale_for_robust_loss(J, f, rho)
    return J, f, 0.5 * float(np.sum(rho[0]))
