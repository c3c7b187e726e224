"""Nonlinear least squares with bounds: `least_squares`, scipy 1.17's, numpy only.

``api`` (signature, validation, result), ``trf`` (Trust Region Reflective), ``dogbox``
(dogleg in a box), ``lm`` and ``lm_kernels`` (MINPACK's Levenberg-Marquardt), ``losses``
(robust losses),
``common`` (scaling, step lengths, trust-region subproblems), ``lsmr`` (LSMR for
``tr_solver='lsmr'``), ``residuals`` (the counted ``fun``/``jac``), ``monitor`` (trace,
verbose table, callback), ``settings`` (the records a method receives and returns).
"""

from __future__ import annotations

from .api import TERMINATION_MESSAGES, least_squares

__all__ = ["TERMINATION_MESSAGES", "least_squares"]
