"""Checks of the connection options of `calib run`, made before anything runs.

`check_connection_options` refuses, with a `SpecError` naming the option: a malformed
``--scheduler`` address, a scheduler file that is not a Dask scheduler file (not JSON, or no
address in it), TLS files that are missing, TLS options without a ``tls://`` scheduler, and a
scheduler that does not answer a TCP connection within `REACH_SECONDS` (Dask's own client
would retry for 30 s).  `TlsOptions.dask_config` gives the Dask settings (``distributed.comm.*``)
under which the client connects; Dask's configuration files may hold the same settings instead
(see docs/security.md).
"""

from __future__ import annotations

import json
import re
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SpecError

__all__ = ["TlsOptions", "REACH_SECONDS", "check_connection_options", "parse_address",
           "read_scheduler_file"]

#: how long a TCP connection to the scheduler may take before it is reported unreachable (s)
REACH_SECONDS = 5.0

_ADDRESS = re.compile(r"(?:(?P<scheme>[a-z]+)://)?(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+)"
                      r":(?P<port>[0-9]{1,5})/?")
_SCHEMES = ("tcp", "tls")


@dataclass(frozen=True)
class TlsOptions:
    """``--tls-ca-file``, ``--tls-cert`` and ``--tls-key`` (None: not given)."""

    ca_file: str | None = None
    cert: str | None = None
    key: str | None = None

    @property
    def given(self) -> bool:
        return any((self.ca_file, self.cert, self.key))

    def dask_config(self) -> dict[str, Any]:
        """Dask settings making the client use these files (and refuse unencrypted comms)."""
        if not self.given:
            return {}
        config: dict[str, Any] = {"distributed.comm.require-encryption": True}
        for key, value in (("distributed.comm.tls.ca-file", self.ca_file),
                           ("distributed.comm.tls.client.cert", self.cert),
                           ("distributed.comm.tls.client.key", self.key)):
            if value:
                config[key] = str(Path(value).absolute())
        return config


def parse_address(address: str, option: str = "--scheduler") -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a scheduler address ``[tcp|tls]://HOST:PORT``.

    Raises `SpecError` naming ``option`` for anything else (another scheme, no port, a port
    out of 1..65535).
    """
    match = _ADDRESS.fullmatch(address.strip())
    expected = "must be tcp://HOST:PORT or tls://HOST:PORT"
    if match is None:
        raise SpecError(option, f"{expected}, got {address!r}")
    scheme = match["scheme"] or "tcp"
    if scheme not in _SCHEMES:
        raise SpecError(option, f"{expected} (calib connects over tcp or tls only), "
                        f"got {address!r}")
    port = int(match["port"])
    if not 1 <= port <= 65535:
        raise SpecError(option, f"{expected} with a port in 1..65535, got {address!r}")
    return scheme, match["host"].strip("[]"), port


def read_scheduler_file(path: str) -> str:
    """The scheduler address a Dask scheduler file holds (``{"address": ...}``).

    Raises `SpecError` naming ``--scheduler-file`` when the file is missing, unreadable, not
    JSON, or holds no valid address.
    """
    option = "--scheduler-file"
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError(option, f"{path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(option, f"{path!r} cannot be read as text: {exc}") from exc
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SpecError(option, f"{path!r} is not a Dask scheduler file: not JSON ({exc})") \
            from exc
    if not isinstance(data, dict) or not isinstance(data.get("address"), str):
        raise SpecError(option, f"{path!r} is not a Dask scheduler file: no \"address\" "
                        "string in it")
    parse_address(data["address"], f"{option} {path!r}: its address")
    return str(data["address"])


def _check_tls(tls: TlsOptions, scheme: str | None) -> None:
    for option, value in (("--tls-ca-file", tls.ca_file), ("--tls-cert", tls.cert),
                          ("--tls-key", tls.key)):
        if value is not None and not Path(value).is_file():
            raise SpecError(option, f"{value!r} is not a file")
    if (tls.cert is None) != (tls.key is None):
        raise SpecError("--tls-cert" if tls.cert is None else "--tls-key",
                        "is needed too: give --tls-cert and --tls-key together")
    if tls.given and scheme is None:
        raise SpecError("--tls-ca-file", "applies to a scheduler started elsewhere (--scheduler "
                        "or --scheduler-file); the embedded cluster needs no TLS (it listens "
                        "on this machine only)")
    if scheme == "tls" and not tls.given:
        import dask.config

        if not dask.config.get("distributed.comm.tls.ca-file", None):
            raise SpecError("--tls-ca-file", "is needed for a tls:// scheduler (with --tls-cert "
                            "and --tls-key), or the same settings in Dask's configuration "
                            "(distributed.comm.tls.*, see docs/security.md)")
    if tls.given and scheme != "tls":
        raise SpecError("--tls-ca-file", "needs a tls:// scheduler address, got a "
                        f"{scheme}:// one")


def _check_reachable(scheme: str, host: str, port: int, where: str, option: str) -> None:
    try:
        with socket.create_connection((host, port), timeout=REACH_SECONDS):
            pass
    except OSError as exc:
        reason = "timed out" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc))
        raise SpecError(option, f"could not reach a Dask scheduler at {where!r} within "
                        f"{REACH_SECONDS:.0f} s ({reason})") from exc


def check_connection_options(*, scheduler: str | None, scheduler_file: str | None,
                             tls: TlsOptions = TlsOptions(), reach: bool = True) -> None:
    """Refuse bad connection options (the rules in the module docstring), before anything runs.

    ``reach``: also open (and close) a TCP connection to the scheduler.
    """
    address, option = None, "--scheduler"
    if scheduler:
        address = scheduler
        parse_address(scheduler)
    elif scheduler_file:
        address, option = read_scheduler_file(scheduler_file), "--scheduler-file"
    scheme = host = None
    port = 0
    if address is not None:
        scheme, host, port = parse_address(address, option)
    _check_tls(tls, scheme)
    if reach and scheme is not None and host is not None:
        _check_reachable(scheme, host, port, address or "", option)
