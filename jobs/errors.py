"""The exception types of the jobs layer, all rooted at `calib.errors.CalibError`.

`SpecError` names the sweep-spec field that is wrong (``[starts].n``) and what was wrong with it;
the store errors say which store and why it cannot be used.
"""

from __future__ import annotations

from calib.errors import CalibError

__all__ = ["SpecError", "StoreConflictError", "StoreCorruptError", "StoreLockedError",
           "StoreDamagedError"]


class SpecError(CalibError):
    """A sweep spec is missing a field, has an unknown one, or has one of the wrong type or range.

    Parameters
    ----------
    field : str
        Where the problem is, as the spec spells it: ``"[starts].n"``,
        ``"[parameters].omega.lower"``, ``"[solver].options.maxiter"``; for a problem with the
        file as a whole, the file's path.
    problem : str
        What is wrong, phrased to follow the field: ``"must be a positive integer, got -3"``.

    The message is ``f"{field} {problem}"``.
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem

    def __reduce__(self) -> tuple[type[SpecError], tuple[str, str]]:
        # keep both attributes across pickling (errors may cross process boundaries)
        return (type(self), (self.field, self.problem))


class StoreConflictError(CalibError):
    """A store exists and was made by a different spec (or its path is not a store at all)."""


class StoreCorruptError(CalibError):
    """A store cannot be read: missing arrays or attributes, or inconsistent shapes."""


class StoreLockedError(StoreConflictError):
    """Another live `calib run` holds the store's lease (the message names its host and pid)."""


class StoreLeaseLostError(StoreConflictError):
    """Another `calib run` took this run's store over (its lease was judged stale): this run
    writes nothing more to it."""


class StoreDamagedError(StoreCorruptError):
    """Chunks of a store fail their checksums or cannot be decoded (the message names them).

    ``damaged`` holds ``(dataset name, chunk index, array names)`` per damaged chunk.
    """

    def __init__(self, message: str, damaged: tuple[tuple[str, int, tuple[str, ...]], ...] = ()
                 ) -> None:
        super().__init__(message)
        self.damaged = damaged

    def __reduce__(self) -> tuple[type[StoreDamagedError],
                                  tuple[str, tuple[tuple[str, int, tuple[str, ...]], ...]]]:
        return (type(self), (str(self), self.damaged))
