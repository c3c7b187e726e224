"""calib's local solver core: scipy.optimize-compatible `minimize` and `minimize_scalar`, numpy only.

Switch from scipy by changing one import::

    from solvers import minimize          # instead of: from scipy.optimize import minimize
"""

from __future__ import annotations

from ._core.bounds import Bounds
from ._core.constraints import LinearConstraint, NonlinearConstraint
from ._core.finite_diff import (HessianEstimate, approx_fprime, approx_gradient, approx_hessian,
                                approx_jacobian)
from ._core.hessian_update import BFGS, SR1, HessianUpdateStrategy
from ._core.trace import Trace, TraceArrays
from .least_squares import least_squares
from ._minimize import minimize
from ._minimize_scalar import bracket, minimize_scalar
from ._options import method_options, show_options
from ._registry import MethodSpec, available_methods, get_method
from ._result import MESSAGES, OptimizeResult, OptimizeWarning
from ._test_functions import rosen, rosen_der, rosen_hess, rosen_hess_prod
from .batch import BatchResult, minimize_batch

__all__ = [
    "BFGS",
    "BatchResult",
    "MESSAGES",
    "MethodSpec",
    "available_methods",
    "get_method",
    "least_squares",
    "method_options",
    "Bounds",
    "LinearConstraint",
    "NonlinearConstraint",
    "HessianUpdateStrategy",
    "HessianEstimate",
    "approx_fprime",
    "approx_gradient",
    "approx_hessian",
    "approx_jacobian",
    "OptimizeResult",
    "OptimizeWarning",
    "SR1",
    "Trace",
    "TraceArrays",
    "bracket",
    "minimize",
    "minimize_batch",
    "minimize_scalar",
    "rosen",
    "rosen_der",
    "rosen_hess",
    "rosen_hess_prod",
    "show_options",
]

