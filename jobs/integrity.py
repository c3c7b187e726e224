"""Chunk checksums of a sweep store: digests of the values a task wrote, checked on reading.

A task records, with its completion marker, one digest per array of its chunk
(`chunk_digests`): SHA-256 (first 8 bytes) of the values as the store holds them (NaN made canonical,
strings length-prefixed UTF-8), as a JSON object ``{array: hex}`` in the ``chunk_digest``
array.  A reader recomputes the digest of what it read (`value_digest`) and compares: a chunk
file deleted (its values read back as the fill value), truncated or bit-flipped (it fails to
decode, or decodes to other values) no longer matches.  Digests of values, not of files, so
the check is the same on any zarr store and whatever codec compresses the chunks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["value_digest", "chunk_digests", "parse_digests", "chunk_faults", "DamagedChunk",
           "damage_message"]

#: the bits of ``np.nan``: a float NaN with other bits (a sign, a payload) is hashed as this
_CANONICAL_NAN = np.array(np.nan).view(np.uint64)[()]
#: chunks named in a damage message before "and N more"
_SHOWN = 4


def value_digest(values: npt.ArrayLike) -> str:
    """SHA-256 (first 64 bits, hex) of an array's shape and values (NaN canonical; strings as
    length-prefixed UTF-8), equal for the values a task writes and the values read back."""
    array = np.asarray(values)
    digest = hashlib.sha256(repr(array.shape).encode())  # SHA-NI: ~2x blake2b's speed here
    if array.dtype.kind in "OUTS":
        for item in array.ravel().tolist():
            data = str(item).encode("utf-8", "surrogatepass")
            digest.update(len(data).to_bytes(8, "little"))
            digest.update(data)
    elif array.dtype == np.float64:
        flat = np.ascontiguousarray(array)
        odd = np.isnan(flat)
        odd &= flat.view(np.uint64) != _CANONICAL_NAN  # -NaN, or NaN with a payload
        if odd.any():
            flat = flat.copy()
            flat[odd] = np.nan
        digest.update(flat.data)
    elif array.dtype.kind == "f":
        digest.update(np.ascontiguousarray(np.where(np.isnan(array), np.nan, array)).tobytes())
    else:
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()[:16]


def chunk_digests(values: Mapping[str, npt.ArrayLike]) -> str:
    """The JSON record of one chunk: ``{array name: value_digest}``, keys sorted."""
    return json.dumps({name: value_digest(v) for name, v in sorted(values.items())},
                      separators=(",", ":"))


def parse_digests(record: Any) -> dict[str, str] | None:
    """A stored record back as ``{array: digest}``; None when it is empty or malformed."""
    if not isinstance(record, str) or not record:
        return None
    try:
        data = json.loads(record)
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return None
    return {str(k): v for k, v in data.items()}


@dataclass(frozen=True)
class DamagedChunk:
    """One damaged chunk: its dataset (index and name), chunk index and the arrays at fault."""

    dataset: int
    dataset_name: str
    chunk: int
    arrays: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.dataset_name} chunk {self.chunk} ({', '.join(self.arrays)})"


def damage_message(store: str, damaged: Sequence[DamagedChunk]) -> str:
    """One line naming the damaged chunks (the first few, then how many more)."""
    shown = "; ".join(c.describe() for c in damaged[:_SHOWN])
    more = f"; and {len(damaged) - _SHOWN} more" if len(damaged) > _SHOWN else ""
    return (f"store {store!r} is damaged: {len(damaged)} chunk(s) fail their checksums: "
            f"{shown}{more}; `calib run` with the same spec recomputes them")


def chunk_faults(done: npt.NDArray[Any] | None, record: npt.NDArray[Any] | None,
                  values: dict[str, npt.NDArray[Any] | None]) -> tuple[str, ...]:
    """The arrays at fault in one chunk (empty: intact, or not done)."""
    if done is None or done.size != 1 or int(done.ravel()[0]) not in (0, 1):
        return ("chunk_done",)
    if int(done.ravel()[0]) == 0:
        return ()
    digests = parse_digests(None if record is None else str(record.ravel()[0]))
    if digests is None:
        return ("chunk_digest",)
    return tuple(sorted(name for name, value in values.items()
                        if value is None or value_digest(value) != digests.get(name)))
