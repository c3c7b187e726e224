"""Bad input, the rest of it (issue 10, item 6): exit 2, one stderr line, nothing written, no
cluster started or scheduler contacted (the `no_cluster` fixture of test_bad_input).

Sizes past a cap, binary data files, malformed ``--scheduler`` addresses, scheduler files that
are not JSON, an unreachable scheduler (refused after a plain TCP connect, not after Dask's 30 s
of retries), user modules that exit or interrupt at import, solver option values the method
would reject, and TLS options that cannot apply.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from jobs.errors import SpecError
from jobs.option_values import check_option_value, option_rules
from jobs.options_check import parse_address
from jobs.sizing import MAX_RESULT_BYTES, estimate_store

from .test_bad_input import (USER_SPEC, assert_bad_input, invoke, no_cluster, snapshot, work,
                             write_spec)

__all__ = ["no_cluster", "work"]  # fixtures used here


@pytest.mark.parametrize(("n", "maxiter", "needle"), [
    ("10000000000", "50", "at most 100000000 in one sweep"),
    ("40000000", "50", "of results in memory"),
    ("2000000", "10000", "with 10001 trace rows each need a store of"),
])
def test_starts_past_the_size_caps(work: Path, no_cluster: list[str], n: str, maxiter: str,
                                   needle: str) -> None:
    spec = write_spec(work, replace=(("n = 4", f"n = {n}"),
                                     ("maxiter = 50", f"maxiter = {maxiter}")))
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec)), "[starts].n is too large", needle)
    assert snapshot(work) == before


def test_the_store_estimate_counts_results_and_traces() -> None:
    est = estimate_store(n_datasets=2, n_starts=10, n_parameters=3, trace_length=5)
    assert est.total_starts == 20
    assert est.result_bytes == 20 * (2 * 8 * 3 + 46)
    assert est.store_bytes == est.result_bytes + 20 * 5 * (24 + 24)
    assert estimate_store(n_datasets=1, n_starts=10**8, n_parameters=3,
                          trace_length=0).result_bytes > MAX_RESULT_BYTES


@pytest.mark.parametrize("content", [b"x,y\n\xff\xfe\x00\x01\n", b"x,y\n1,\x002\n"],
                         ids=["not-utf8", "nul-bytes"])
def test_a_binary_data_file_is_named(work: Path, no_cluster: list[str], content: bytes) -> None:
    (work / "data" / "third.csv").write_bytes(content)
    spec = write_spec(work)
    before = snapshot(work)
    line = assert_bad_input(invoke("run", str(spec)), "third.csv")
    assert "binary" in line
    assert snapshot(work) == before


@pytest.mark.parametrize("address", ["tcp//127.0.0.1:8786", "tcp://127.0.0.1", "http://h:1",
                                     "tcp://127.0.0.1:99999", "tcp://:8786", "not an address"])
def test_a_malformed_scheduler_address(work: Path, no_cluster: list[str], address: str) -> None:
    spec = write_spec(work)
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec), "--scheduler", address), "--scheduler must be "
                     "tcp://HOST:PORT or tls://HOST:PORT", repr(address))
    assert snapshot(work) == before


@pytest.mark.parametrize(("content", "needle"), [
    ("address: tcp://127.0.0.1:8786\n", "not JSON"),
    (json.dumps({"id": "x"}), 'no "address"'),
    (json.dumps({"address": "nowhere"}), "its address must be"),
])
def test_a_scheduler_file_that_is_not_one(work: Path, no_cluster: list[str], content: str,
                                          needle: str) -> None:
    (work / "sched.json").write_text(content)
    spec = write_spec(work)
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec), "--scheduler-file", "sched.json"),
                     "--scheduler-file", needle)
    assert snapshot(work) == before


def test_an_unreachable_scheduler_is_refused_without_dask_retries(
        work: Path, no_cluster: list[str]) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    spec = write_spec(work)
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec), "--scheduler", f"tcp://127.0.0.1:{port}"),
                     "--scheduler could not reach a Dask scheduler", "within 5 s")
    assert snapshot(work) == before


@pytest.mark.parametrize(("body", "needle"), [
    ("import sys\nsys.exit(3)\n", "raised SystemExit(3)"),
    ("raise KeyboardInterrupt\n", "raised KeyboardInterrupt"),
])
def test_a_user_module_that_exits_or_interrupts_at_import(work: Path, no_cluster: list[str],
                                                          body: str, needle: str) -> None:
    (work / "rude_module.py").write_text(body + "\ndef nll(x, data):\n    return 0.0\n")
    spec = work / "user.toml"
    spec.write_text(USER_SPEC.format(objective="rude_module:nll"))
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec)), "rude_module:nll", needle)
    assert snapshot(work) == before


@pytest.mark.parametrize(("option", "needle"), [
    ("maxiter = -5", "[solver].options.maxiter must be a positive integer for L-BFGS-B, got -5"),
    ('maxiter = "many"', "[solver].options.maxiter must be a positive integer for L-BFGS-B, "
                         "got 'many'"),
    ("maxiter = 2.5", "[solver].options.maxiter must be a positive integer"),
    ("ftol = -1", "[solver].options.ftol must be a non-negative number for L-BFGS-B, got -1"),
    ("eps = 0", "[solver].options.eps must be a positive number"),
    ("maxcor = true", "[solver].options.maxcor must be a positive integer"),
])
def test_solver_option_values_the_method_would_reject(work: Path, no_cluster: list[str],
                                                      option: str, needle: str) -> None:
    spec = write_spec(work, replace=(("maxiter = 50", option),))
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec)), needle)
    assert snapshot(work) == before


def test_option_rules_come_from_the_solvers_signatures() -> None:
    rules = option_rules("L-BFGS-B")
    assert rules["maxiter"].kind == "int" and rules["ftol"].kind == "float"
    assert option_rules("Nelder-Mead")["adaptive"].kind == "bool"
    check_option_value("TNC", "ftol", -1)  # TNC's own default (-1: "use the default")
    check_option_value("L-BFGS-B", "maxiter", 100)
    with pytest.raises(SpecError, match="must be true or false"):
        check_option_value("Nelder-Mead", "adaptive", 1)
    with pytest.raises(SpecError, match=r"in \(0, 1\)"):
        check_option_value("BFGS", "c2", 1.5)


@pytest.mark.parametrize(("args", "needle"), [
    (("--tls-ca-file", "ca.pem"), "applies to a scheduler started elsewhere"),
    (("--scheduler", "tls://127.0.0.1:1"), "--tls-ca-file is needed for a tls:// scheduler"),
    (("--scheduler", "tcp://127.0.0.1:1", "--tls-ca-file", "ca.pem"), "needs a tls:// "),
    (("--scheduler", "tls://127.0.0.1:1", "--tls-ca-file", "ca.pem", "--tls-cert", "ca.pem"),
     "--tls-key is needed too"),
    (("--scheduler", "tls://127.0.0.1:1", "--tls-ca-file", "missing.pem"),
     "--tls-ca-file 'missing.pem' is not a file"),
])
def test_tls_options_that_cannot_apply(work: Path, no_cluster: list[str],
                                       args: tuple[str, ...], needle: str) -> None:
    (work / "ca.pem").write_text("not checked before use\n")
    spec = write_spec(work)
    before = snapshot(work)
    assert_bad_input(invoke("run", str(spec), *args), needle)
    assert snapshot(work) == before


def test_addresses_parse_to_scheme_host_and_port() -> None:
    assert parse_address("tcp://10.0.0.5:8786") == ("tcp", "10.0.0.5", 8786)
    assert parse_address("tls://sched.example.org:8786") == ("tls", "sched.example.org", 8786)
    assert parse_address("127.0.0.1:8786") == ("tcp", "127.0.0.1", 8786)
    assert parse_address("tcp://[::1]:8786") == ("tcp", "::1", 8786)
