"""What happened when no start converged: one line per dataset, and one for the sweep.

A dataset whose every start ended ``not_converged`` or failed has no minimum to report; instead
of a bare "check the failures", `no_convergence_text` says how its starts ended — how many did
not converge (with the most common solver message among them) and how many failed or timed out
— e.g. ``no start converged: 16 not converged (most: STOP: TOTAL NO. OF ITERATIONS REACHED
LIMIT), 0 failed``.  `sweep_no_convergence` gives the line `calib run` prints (and exits 1 with)
when no start of the whole sweep converged.
"""

from __future__ import annotations

from collections import Counter
import numpy as np
import numpy.typing as npt

from calib.status import FAILURE_CODES, StartStatus

from .store import Store

__all__ = ["no_convergence_text", "sweep_no_convergence"]

_MESSAGE_CHARS = 60


def no_convergence_text(status: npt.NDArray[np.int8], messages: npt.ArrayLike) -> str:
    """``no start converged: N not converged (most: MESSAGE), M failed`` for one dataset's
    ``status`` codes (n_starts,) and solver ``messages`` (n_starts,); pending starts are left
    out (``, K pending`` is added when there are some)."""
    not_converged = status == StartStatus.NOT_CONVERGED.code
    failed = np.isin(status, FAILURE_CODES)
    pending = int(np.count_nonzero(status == StartStatus.PENDING.code))
    texts = np.asarray(messages, dtype=object)
    common = Counter(str(text).strip() for text in texts[not_converged])
    reason = ""
    if common:
        text = common.most_common(1)[0][0]
        reason = f" (most: {text[:_MESSAGE_CHARS]}{'...' if len(text) > _MESSAGE_CHARS else ''})"
    return (f"no start converged: {int(not_converged.sum())} not converged{reason}, "
            f"{int(failed.sum())} failed" + (f", {pending} pending" if pending else ""))


def sweep_no_convergence(store: Store) -> str | None:
    """The one line for a sweep none of whose starts converged, or None when one did.

    ``no start converged in any dataset: N not converged, M failed (see `calib best STORE`)``.
    """
    status = store.read_status()
    if bool(np.any(status == StartStatus.CONVERGED.code)):
        return None
    not_converged = int(np.count_nonzero(status == StartStatus.NOT_CONVERGED.code))
    failed = int(np.count_nonzero(np.isin(status, FAILURE_CODES)))
    return (f"no start converged in any dataset: {not_converged} not converged, {failed} "
            f"failed (see `calib best {store.path}`)")
