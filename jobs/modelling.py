"""Plan-time checks of the spec's modelling controls: a user gradient is tried once.

`check_gradients` evaluates ``[model].gradient`` (and ``gradient_vectorized``) at the sweep's
first start of its first dataset, with the fixed parameters in place, and refuses one that
raises or returns the wrong shape or a non-finite value with a one-line `SpecError` naming the
field, before anything is written.
"""

from __future__ import annotations

from calib.datasets import Dataset
from calib.fixed import FixedLayout
from calib.gradients import GradientError, check_gradient
from calib.objectives import load_objective

from .errors import SpecError
from .spec import SweepSpec

__all__ = ["check_gradients"]


def check_gradients(spec: SweepSpec, dataset: Dataset) -> None:
    """Try the spec's user gradient(s) at start 0 of ``dataset`` (the first); see the module.

    Raises
    ------
    SpecError
        Naming ``[model].gradient`` or ``[model].gradient_vectorized``.
    """
    from .task import chunk_starts  # jobs.task imports the planner's module: import late

    paths = {False: spec.model.gradient, True: spec.model.gradient_vectorized}
    if not any(paths.values()):
        return
    free = chunk_starts(spec, 0, 0, 1)[0]
    full = FixedLayout.of(spec.parameter_names, spec.fixed_values).full(free)
    for batched, path in paths.items():
        if path is None:
            continue
        try:
            check_gradient(load_objective(path), full, dataset.values, batched=batched)
        except GradientError as exc:
            raise SpecError(exc.what, exc.problem) from exc
