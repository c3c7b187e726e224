"""Security basics (issue 10, item 7): a TLS-only cluster from the CLI; the dashboard on
loopback only.

The test makes a throwaway CA and one certificate for 127.0.0.1 with the ``openssl`` command
line (the test environment has no ``cryptography`` package), starts a ``dask scheduler
--protocol tls`` and a ``dask worker`` that present it, and runs a sweep with ``calib run
--scheduler tls://... --tls-ca-file --tls-cert --tls-key``; the same run through the Dask
configuration file instead of the options works too.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from jobs.store import Store

from .conftest import (CALIB, DASK, STORE_LINE, calib_cli, cli_env, free_port, ou_sweep_tables,
                       wait_until, write_spec)

OPENSSL = shutil.which("openssl")


def _openssl(*args: str, cwd: Path) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certificates(directory: Path) -> dict[str, Path]:
    """A CA and one leaf certificate (server and client use) for 127.0.0.1, EC P-256 keys."""
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=calib-test-ca", cwd=directory)
    _openssl("req", *ec, "-keyout", "node.key", "-out", "node.csr", "-subj", "/CN=127.0.0.1",
             cwd=directory)
    (directory / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                       "basicConstraints=CA:FALSE\n"
                                       "extendedKeyUsage=serverAuth,clientAuth\n")
    _openssl("x509", "-req", "-in", "node.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "node.pem", "-days", "2", "-extfile", "ext.cnf",
             cwd=directory)
    return {"ca": directory / "ca.pem", "cert": directory / "node.pem",
            "key": directory / "node.key"}


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM then SIGKILL, by pid, every started process and its children."""
    tree: list[psutil.Process] = []
    for proc in procs:
        try:
            root = psutil.Process(proc.pid)
            tree += [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    for p in tree:
        try:
            p.send_signal(signal.SIGTERM)
        except psutil.NoSuchProcess:
            continue
    _, alive = psutil.wait_procs(tree, timeout=10)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            continue
    for proc in procs:
        proc.wait(timeout=10)


@pytest.fixture
def tls_cluster(tmp_path: Path) -> Iterator[tuple[str, dict[str, Path]]]:
    """A TLS-only ``dask scheduler`` and one ``dask worker`` on 127.0.0.1: (address, certs)."""
    if OPENSSL is None:
        pytest.fail("the openssl command line is needed to make test certificates")
    certs_dir = tmp_path / "certs"
    certs_dir.mkdir()
    certs = make_certificates(certs_dir)
    port = free_port()
    address = f"tls://127.0.0.1:{port}"
    tls = ["--tls-ca-file", str(certs["ca"]), "--tls-cert", str(certs["cert"]),
           "--tls-key", str(certs["key"])]
    env = cli_env(tmp_path / "scratch")
    sched_file = tmp_path / "sched.json"
    procs: list[subprocess.Popen[bytes]] = []
    with open(tmp_path / "dask.log", "wb") as log:
        procs.append(subprocess.Popen(
            [DASK, "scheduler", "--protocol", "tls", "--host", "127.0.0.1", "--port", str(port),
             "--no-dashboard", "--scheduler-file", str(sched_file), *tls],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
        try:
            assert wait_until(sched_file.exists, 60), (tmp_path / "dask.log").read_text()
            procs.append(subprocess.Popen(
                [DASK, "worker", address, "--nworkers", "1", "--nthreads", "1", "--host",
                 "127.0.0.1", "--no-dashboard", "--memory-limit", "2GiB", "--local-directory",
                 str(tmp_path / "worker-space"), *tls],
                cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT))
            yield address, certs
        finally:
            _stop(procs)


def test_a_sweep_runs_on_a_tls_only_cluster(tls_cluster: tuple[str, dict[str, Path]],
                                            tmp_path: Path) -> None:
    address, certs = tls_cluster
    write_spec(tmp_path, ou_sweep_tables("tls", datasets=1, starts=4, starts_per_task=2))
    done = calib_cli(["run", "sweep.toml", "--store", "s.zarr", "--scheduler", address,
                      "--tls-ca-file", str(certs["ca"]), "--tls-cert", str(certs["cert"]),
                      "--tls-key", str(certs["key"])], tmp_path)
    assert done.returncode == 0, done.stderr
    assert STORE_LINE.search(done.stdout)["run"] == "2"  # type: ignore[index]
    assert Store.open(tmp_path / "s.zarr").verify() == (2, 2)
    # the same settings from a Dask configuration file, as docs/security.md describes
    config = tmp_path / "dask-config"
    config.mkdir()
    (config / "calib-tls.yaml").write_text(
        "distributed:\n  comm:\n    require-encryption: true\n    tls:\n"
        f"      ca-file: {certs['ca']}\n      client:\n        cert: {certs['cert']}\n"
        f"        key: {certs['key']}\n")
    env = {**cli_env(tmp_path / ".dask-scratch"), "DASK_CONFIG": str(config)}
    again = subprocess.run([CALIB, "run", "sweep.toml", "--store", "t.zarr", "--scheduler",
                            address], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert Store.open(tmp_path / "t.zarr").verify() == (2, 2)


def test_the_embedded_dashboard_listens_on_loopback_only() -> None:
    from jobs.cluster import connect

    with connect(workers=1) as client:
        link = client.dashboard_link
        port = int(link.split(":")[2].split("/")[0])
        listening = [c.laddr.ip for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr.port == port
                     and c.pid in (None, os.getpid())]
    assert listening and set(listening) == {"127.0.0.1"}, listening
