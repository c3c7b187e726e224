"""How a start ended: one enumeration shared by `calib.run` (outcomes) and the sweep store.

`StartStatus` members compare equal to their names (``StartStatus.CONVERGED == "converged"``),
and each has the fixed integer ``code`` the store's ``status`` array holds.  ``is_failure``
is the one place that says which statuses count as failed starts (``failed`` and ``timeout``).
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
import numpy.typing as npt

__all__ = ["StartStatus", "STATUS_CODES", "FAILURE_CODES"]


class StartStatus(StrEnum):
    """The status of one start; ``PENDING`` only in a store (the start has not run yet)."""

    PENDING = "pending"
    CONVERGED = "converged"
    NOT_CONVERGED = "not_converged"
    FAILED = "failed"
    TIMEOUT = "timeout"

    @property
    def code(self) -> int:
        """The int8 code stored for this status (never change these: stores keep them)."""
        return _CODES[self]

    @property
    def is_failure(self) -> bool:
        """True for the statuses that count as failed starts: ``failed`` and ``timeout``."""
        return self in (StartStatus.FAILED, StartStatus.TIMEOUT)

    @classmethod
    def from_code(cls, code: int) -> StartStatus:
        """The status stored as ``code``; ValueError for a code no status has."""
        try:
            return _BY_CODE[int(code)]
        except KeyError:
            raise ValueError(f"{code!r} is not a start status code; known codes: "
                             f"{sorted(_BY_CODE)}") from None


_CODES: dict[StartStatus, int] = {
    StartStatus.PENDING: 0, StartStatus.CONVERGED: 1, StartStatus.NOT_CONVERGED: 2,
    StartStatus.FAILED: 3, StartStatus.TIMEOUT: 4,
}
_BY_CODE: dict[int, StartStatus] = {code: status for status, code in _CODES.items()}

#: status name -> stored code (the store's ``status_codes`` attribute)
STATUS_CODES: dict[str, int] = {str(status): code for status, code in _CODES.items()}
#: the stored codes that count as failed starts
FAILURE_CODES: npt.NDArray[np.int8] = np.array(
    [code for status, code in _CODES.items() if status.is_failure], dtype=np.int8)
