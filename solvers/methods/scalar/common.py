"""Results, messages and printing shared by the bracketing scalar methods (brent, golden).
"""

from __future__ import annotations

import warnings

from ..._result import MESSAGES, OptimizeResult, OptimizeWarning
from ..._search.scalar import BracketError, bracket_failure_point

__all__ = ['bracket_failure_result', 'finish_message', 'report']



def finish_message(success: bool, converged_text: str, nan: bool) -> str:
    """scipy's message for Brent and golden-section results."""
    if nan:
        return MESSAGES["nan"]
    if success:
        return converged_text
    return "\nMaximum number of iterations exceeded"


def report(res: OptimizeResult, disp: int) -> None:
    """Print a success message or warn (`OptimizeWarning`) on failure, when ``disp``."""
    if not disp:
        return
    if res.success:
        print(res.message)
    else:
        warnings.warn(res.message, OptimizeWarning, stacklevel=4)


def bracket_failure_result(error: BracketError) -> OptimizeResult:
    """The result of a run whose bracket search failed: its lowest point, success False."""
    x, f, nfev = bracket_failure_point(error)
    return OptimizeResult(fun=f, nfev=nfev, x=x, nit=0, success=False, message=str(error))
