"""deploy/: each recipe checked as far as this machine allows (no docker daemon, no cluster).

- Dockerfile: lint rules written here (hadolint-like: a pinned slim Python base, no ``latest``,
  ``pip install --no-cache-dir``, a non-root USER, exec-form CMD, calib's packages copied).
- docker-compose.yml: parsed as YAML; scheduler + workers + a shared named volume.
- k8s/daskcluster.yaml: validated against the operator's own CRD schema
  (k8s/daskcluster-crd.yaml, from the dask-kubernetes 2026.3.0 wheel) by a small OpenAPI v3
  validator (types, required, properties, additionalProperties, enum, int-or-string).
- jobqueue/slurm.py: dask-jobqueue's generated SLURM job script.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


# -- Dockerfile ---------------------------------------------------------------------------------
def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_problems(text: str) -> list[str]:
    """The lint rules the recipe must pass; each problem one line."""
    steps = _instructions(text)
    problems = []
    froms = [rest for word, rest in steps if word == "FROM"]
    if not froms or not re.fullmatch(r"python:3\.\d+-slim(-\w+)?", froms[0]):
        problems.append(f"base image must be a pinned python:3.X-slim, got {froms}")
    problems += [f"image {f!r} has the latest tag" for f in froms if f.endswith(":latest")]
    for word, rest in steps:
        if word == "RUN" and "pip install" in rest and "--no-cache-dir" not in rest:
            problems.append(f"pip install without --no-cache-dir: {rest}")
        if word == "RUN" and re.search(r"\bapt-get install\b", rest) and "-y" not in rest:
            problems.append("apt-get install without -y")
        if word == "ADD" and "://" in rest:
            problems.append("ADD of a URL (use RUN with a checksum)")
    users = [rest for word, rest in steps if word == "USER"]
    if not users or users[-1] in ("root", "0"):
        problems.append("the image must end as a non-root USER")
    cmds = [rest for word, rest in steps if word in ("CMD", "ENTRYPOINT")]
    if not cmds or not cmds[-1].startswith("["):
        problems.append("CMD must be in exec form (a JSON list)")
    return problems


def test_dockerfile_passes_the_lint_rules_and_installs_calib() -> None:
    text = (DEPLOY / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert dockerfile_problems(text) == []
    steps = _instructions(text)
    copied = {rest.split()[0] for word, rest in steps if word == "COPY"}
    assert {"solvers", "calib", "jobs"} <= copied
    cmd = [rest for word, rest in steps if word == "CMD"][-1]
    assert yaml.safe_load(cmd)[:2] == ["dask", "scheduler"]


def test_the_lint_rules_catch_what_they_check() -> None:
    bad = "FROM python:latest\nRUN pip install calib\nCMD dask scheduler\n"
    assert dockerfile_problems(bad) == [
        "base image must be a pinned python:3.X-slim, got ['python:latest']",
        "image 'python:latest' has the latest tag",
        "pip install without --no-cache-dir: pip install calib",
        "the image must end as a non-root USER",
        "CMD must be in exec form (a JSON list)"]


# -- docker compose -----------------------------------------------------------------------------
def test_compose_has_a_scheduler_workers_and_a_shared_store_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "docker" / "docker-compose.yml").read_text("utf-8"))
    services = compose["services"]
    assert set(services) == {"scheduler", "worker", "client"}
    assert services["scheduler"]["command"][:2] == ["dask", "scheduler"]
    worker = services["worker"]["command"]
    assert worker[:3] == ["dask", "worker", "tcp://scheduler:8786"]
    assert worker[worker.index("--nthreads") + 1] == "1"
    assert services["worker"]["deploy"]["replicas"] >= 2
    for name, service in services.items():
        assert "stores:/stores" in service["volumes"], name
    assert "stores" in compose["volumes"]
    # the dashboard (no authentication) is published on the loopback interface only
    assert all(p.startswith("127.0.0.1:") for p in services["scheduler"]["ports"])
    dockerfile = services["scheduler"]["build"]["dockerfile"]
    assert (DEPLOY.parent / services["scheduler"]["build"]["context"].replace("../..", ".")
            / dockerfile).is_file()


# -- Kubernetes ---------------------------------------------------------------------------------
def schema_errors(value: Any, schema: dict[str, Any], where: str = "") -> list[str]:
    """Where ``value`` breaks the OpenAPI v3 ``schema`` (the subset CRDs use)."""
    if schema.get("x-kubernetes-int-or-string"):
        return [] if isinstance(value, (int, str)) else [f"{where}: not an int or a string"]
    if schema.get("x-kubernetes-preserve-unknown-fields") and "properties" not in schema:
        return []
    kind = schema.get("type")
    checks = {"object": dict, "array": list, "string": str, "boolean": bool,
              "integer": int, "number": (int, float)}
    if kind in checks and (not isinstance(value, checks[kind])
                           or (kind in ("integer", "number") and isinstance(value, bool))):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    errors = []
    if kind == "object":
        properties = schema.get("properties", {})
        errors += [f"{where}.{key}: required" for key in schema.get("required", [])
                   if key not in value]
        for key, item in value.items():
            if key in properties:
                errors += schema_errors(item, properties[key], f"{where}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                errors += schema_errors(item, schema["additionalProperties"], f"{where}.{key}")
            elif properties and not schema.get("x-kubernetes-preserve-unknown-fields"):
                errors.append(f"{where}.{key}: unknown field")
    if kind == "array":
        for i, item in enumerate(value):
            errors += schema_errors(item, schema.get("items", {}), f"{where}[{i}]")
    return errors


def _crd_schema() -> dict[str, Any]:
    crd = yaml.safe_load((DEPLOY / "k8s" / "daskcluster-crd.yaml").read_text("utf-8"))
    assert crd["spec"]["names"]["kind"] == "DaskCluster"
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1"]
    return dict(version["schema"]["openAPIV3Schema"])


def _manifests() -> list[dict[str, Any]]:
    return list(yaml.safe_load_all((DEPLOY / "k8s" / "daskcluster.yaml").read_text("utf-8")))


def test_daskcluster_manifest_matches_the_operators_crd_schema() -> None:
    (cluster,) = [m for m in _manifests() if m["kind"] == "DaskCluster"]
    assert cluster["apiVersion"] == "kubernetes.dask.org/v1"
    assert schema_errors(cluster["spec"], _crd_schema()["properties"]["spec"], "spec") == []
    worker = cluster["spec"]["worker"]["spec"]["containers"][0]
    assert worker["args"][worker["args"].index("--nthreads") + 1] == "1"
    claims = {v["persistentVolumeClaim"]["claimName"]
              for v in cluster["spec"]["worker"]["spec"]["volumes"]}
    pvcs = {m["metadata"]["name"]: m for m in _manifests() if m["kind"] == "PersistentVolumeClaim"}
    assert claims <= set(pvcs)
    assert all(pvcs[c]["spec"]["accessModes"] == ["ReadWriteMany"] for c in claims)


def test_the_schema_check_finds_a_misspelt_field_and_a_wrong_type() -> None:
    (cluster,) = [m for m in _manifests() if m["kind"] == "DaskCluster"]
    spec = yaml.safe_load(yaml.safe_dump(cluster["spec"]))
    spec["worker"]["replica"] = spec["worker"].pop("replicas")
    spec["scheduler"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "8786"
    errors = schema_errors(spec, _crd_schema()["properties"]["spec"], "spec")
    assert "spec.worker.replica: unknown field" in errors
    assert ("spec.scheduler.spec.containers[0].ports[0].containerPort: expected integer, "
            "got str") in errors


@pytest.mark.parametrize("name", ["k8s/kube_cluster.py", "jobqueue/slurm.py"])
def test_python_examples_parse_and_define_make_cluster_and_main(name: str) -> None:
    tree = ast.parse((DEPLOY / name).read_text(encoding="utf-8"))
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert {"make_cluster", "main"} <= functions
    assert ast.get_docstring(tree)


# -- SLURM through dask-jobqueue -----------------------------------------------------------------
def test_slurm_job_script_runs_one_single_threaded_worker() -> None:
    spec = importlib.util.spec_from_file_location("calib_deploy_slurm",
                                                  DEPLOY / "jobqueue" / "slurm.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.make_cluster(queue="short", account="proj42", walltime="00:30:00") as cluster:
        script = cluster.job_script()
        address = cluster.scheduler_address
    lines = script.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    sbatch = {line for line in lines if line.startswith("#SBATCH")}
    assert {"#SBATCH -J calib-worker", "#SBATCH -p short", "#SBATCH -A proj42",
            "#SBATCH -t 00:30:00", "#SBATCH --cpus-per-task=1"} <= sbatch
    assert "export OPENBLAS_NUM_THREADS=1" in lines
    (worker,) = [line for line in lines if "dask_worker" in line]
    argv = shlex.split(worker)
    assert argv[argv.index("distributed.cli.dask_worker") + 1] == address
    assert argv[argv.index("--nthreads") + 1] == "1"
