"""The batched multi-start core: `minimize_batch` advances ``k`` starts of one problem at once.

Modules: `api` (the entry point), `objective` (batched objective, finite differences, failure
isolation), `blocks` (rows per ``fun`` call, from measured times), `wolfe` (one step of a
per-start strong-Wolfe search), `lbfgs_memory` (compact L-BFGS memory), `line_search` (per-start
masked backtracking, for BFGS), `lbfgsb`, `bfgs`, `nelder_mead` (the batched methods), `active`
(the shrinking active set), `result` (`BatchResult`).
"""

from __future__ import annotations

from .api import minimize_batch
from .objective import BatchShapeError
from .result import BatchResult

__all__ = ["BatchResult", "BatchShapeError", "minimize_batch"]
