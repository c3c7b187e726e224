"""Security basics (issue 10, item 7): a TLS-only cluster from the CLI; the dashboard on
loopback only.

The test makes a throwaway CA and one certificate for 127.0.0.1 with the ``cryptography``
package (in the test extra), starts a ``dask scheduler
--protocol tls`` and a ``dask worker`` that present it, and runs a sweep with ``calib run
--scheduler tls://... --tls-ca-file --tls-cert --tls-key``; the same run through the Dask
configuration file instead of the options works too.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from jobs.store import Store

from .conftest import (CALIB, DASK, STORE_LINE, calib_cli, cli_env, free_port, ou_sweep_tables,
                       wait_until, write_spec)

def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))


def make_certificates(directory: Path) -> dict[str, Path]:
    """A CA and one leaf certificate (server and client use) for 127.0.0.1, EC P-256 keys."""
    now = datetime.datetime.now(datetime.timezone.utc)
    valid = {"not_valid_before": now - datetime.timedelta(minutes=5),
             "not_valid_after": now + datetime.timedelta(days=2)}
    ca_key, node_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(
        ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "calib-test-ca")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    node = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(node_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(valid["not_valid_before"]).not_valid_after(valid["not_valid_after"])
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "node.pem").write_bytes(node.public_bytes(serialization.Encoding.PEM))
    _write_key(directory / "ca.key", ca_key)
    _write_key(directory / "node.key", node_key)
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
