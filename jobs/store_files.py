"""The files of a sweep store on disk: path checks, half-created stores, building aside and
swapping into place.

A new store is built in a sibling directory ``.<name>.calib-new-<token>`` (`staging_path`) and
put at its path by `swap_into_place`: one ``rename`` when nothing is there, else one atomic
``renameat2(RENAME_EXCHANGE)`` (`exchange`; two renames where the system has none), so the path
always holds either the old store or the whole new one.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import secrets
from pathlib import Path
from typing import Any

from .errors import StoreCorruptError
from .lease import STAGING_MARK

__all__ = ["check_path", "root_attributes", "is_half_created", "staging_path", "exchange",
           "swap_into_place"]


def check_path(path: Path) -> None:
    """`StoreCorruptError` when ``path`` is a file or lies inside one."""
    if path.exists() and not path.is_dir():
        raise StoreCorruptError(f"store path {str(path)!r} is a file, not a zarr store directory")
    for parent in path.absolute().parents:  # the nearest existing ancestor must be a directory
        if parent.exists():
            if not parent.is_dir():
                raise StoreCorruptError(f"store path {str(path)!r} is inside {str(parent)!r}, "
                                        "which is a file, not a directory")
            break


def root_attributes(path: Path) -> dict[str, Any] | None:
    """The attributes in ``path/zarr.json`` when it is a zarr v3 group, else None."""
    try:
        meta = json.loads((path / "zarr.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("node_type") != "group":
        return None
    attrs = meta.get("attributes", {})
    return attrs if isinstance(attrs, dict) else None


def is_half_created(path: Path, array_names: frozenset[str]) -> bool:
    """A directory a calib run left while creating a store: a zarr group without the sweep's
    attributes whose other entries are all in ``array_names`` (calib's arrays)."""
    attrs = root_attributes(path)
    if attrs is None or "spec_hash" in attrs:
        return False
    return all(p.name == "zarr.json" or p.name in array_names for p in path.iterdir())


def staging_path(path: Path, role: str) -> Path:
    """A fresh sibling ``.<name>.calib-<role>-<token>`` of ``path`` (see `jobs.lease`)."""
    path = path.absolute()
    return path.with_name(f".{path.name}{STAGING_MARK}{role}-{secrets.token_hex(6)}")


def exchange(first: Path, second: Path) -> bool:
    """Swap two directories atomically (Linux ``renameat2(RENAME_EXCHANGE)``); False when the
    system cannot (then the caller falls back to two renames)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                          ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(first), at_fdcwd, os.fsencode(second),
                 rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(second))


def swap_into_place(staging: Path, path: Path) -> None:
    """Put the complete store built in ``staging`` at ``path``; whatever was at ``path`` ends
    in ``staging`` (the caller deletes it).  ``path`` always holds a whole store or the old
    content, never a mix."""
    if not path.exists():
        staging.rename(path)
        return
    if not exchange(staging, path):
        old = staging_path(path, "old")
        path.rename(old)  # from here until the next rename there is no store at path
        staging.rename(path)
        old.rename(staging)
