"""The batched multi-start core: `minimize_batch` advances ``k`` starts of one problem at once.

Modules: `api` (the entry point), `objective` (batched objective, finite differences, failure
isolation), `line_search` (per-start masked backtracking), `lbfgsb`, `bfgs`, `nelder_mead` (the
batched methods), `active` (the shrinking active set), `result` (`BatchResult`).
"""

from __future__ import annotations

from .api import minimize_batch
from .objective import BatchShapeError
from .result import BatchResult

__all__ = ["BatchResult", "BatchShapeError", "minimize_batch"]
