"""The result record every solver returns, the warnings it may emit, and the status messages.

`OptimizeResult` mirrors `scipy.optimize.OptimizeResult`: a dict whose keys are also attributes,
printed as an aligned table.  `MESSAGES` holds each termination reason once, with scipy's wording,
so a method returns a reason name and never spells out a message itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

__all__ = ["OptimizeResult", "OptimizeWarning", "MESSAGES"]


class OptimizeWarning(UserWarning):
    """Warning about solver options or results (same role as scipy's)."""


#: termination reason -> message, in scipy's words.
MESSAGES: dict[str, str] = {
    "success": "Optimization terminated successfully.",
    "maxfev": "Maximum number of function evaluations has been exceeded.",
    "maxiter": "Maximum number of iterations has been exceeded.",
    "pr_loss": "Desired error not necessarily achieved due to precision loss.",
    "nan": "NaN result encountered.",
    "out_of_bounds": "The result is outside of the provided bounds.",
    "callback": "`callback` raised `StopIteration`.",
    "non_finite": "The objective function returned a non-finite value ({value}); "
    "the run stopped at the best finite point found.",
}


def _format_value(value: Any) -> str:
    if isinstance(value, np.ndarray):
        with np.printoptions(precision=8, threshold=20, edgeitems=3):
            text = repr(value)
    else:
        text = repr(value)
    return text


class OptimizeResult(dict):  # type: ignore[type-arg]
    """Result of a minimization: a dict with attribute access.

    Common keys: ``x`` (ndarray, shape (n,)), ``fun`` (float), ``jac`` (ndarray), ``nfev``,
    ``njev``, ``nit`` (int counts), ``status`` (int, method-specific), ``success`` (bool),
    ``message`` (str), ``hess_inv`` (method-specific) and ``trace`` (a `Trace` when requested).
    """

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    if TYPE_CHECKING:  # what mypy sees; at run time the dict's own (C) methods, no overhead
        def __setattr__(self, name: str, value: Any) -> None: ...

        def __delattr__(self, name: str) -> None: ...
    else:
        __setattr__ = dict.__setitem__
        __delattr__ = dict.__delitem__

    def __repr__(self) -> str:
        if not self:
            return self.__class__.__name__ + "()"
        order = ["message", "success", "status", "fun", "x", "nit", "jac", "hess_inv",
                 "nfev", "njev", "nhev"]
        keys = [k for k in order if k in self] + sorted(k for k in self if k not in order)
        width = max(len(k) for k in keys) + 1
        lines = []
        for key in keys:
            text = _format_value(self[key]).replace("\n", "\n" + " " * (width + 2))
            lines.append(f"{key.rjust(width)}: {text}")
        return "\n".join(lines)

    def __dir__(self) -> list[str]:
        return list(self.keys())
