"""Internal exceptions that end a run early from deep inside a method.

They never reach the user: `solvers.minimize` catches them and builds the result from the best
point the objective has seen (see `_objective.ScalarObjective.best_x`).
"""

from __future__ import annotations

__all__ = ["RunStopped", "CallbackStop", "NonFiniteValue", "EvaluationLimit"]


class RunStopped(Exception):
    """Base of the early-stop signals; ``reason`` is a key of `_result.MESSAGES`."""

    reason = "success"


class CallbackStop(RunStopped):
    """The user's callback raised `StopIteration`."""

    reason = "callback"


class NonFiniteValue(RunStopped):
    """The objective (or its gradient) returned NaN or an infinity."""

    reason = "non_finite"

    def __init__(self, value: float) -> None:
        super().__init__(value)
        self.value = value


class EvaluationLimit(RunStopped):
    """The evaluation budget (``maxfev`` / ``maxfun``) is spent."""

    reason = "maxfev"
