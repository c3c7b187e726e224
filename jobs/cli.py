"""The `calib` command line (click): the only module that prints or exits.

Exit codes: 0 ok; 1 the sweep ran but some starts failed; 2 bad input (one line on stderr);
3 the run could not finish (one line saying why); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy loads: one BLAS thread per process

import functools  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from importlib.metadata import PackageNotFoundError, version  # noqa: E402
from typing import Any, TypeVar  # noqa: E402

import click  # noqa: E402

__all__ = ["main"]

F = TypeVar("F", bound=Callable[..., Any])


def _version() -> str:
    try:
        return version("calib")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def _fail(message: str) -> None:
    one_line = " ".join(message.split())  # a multi-line message (a user module's error) folded
    click.echo(f"calib: error: {one_line}", err=True)
    sys.exit(2)


def user_errors(func: F) -> F:
    """Turn a `CalibError` into one line on stderr and exit status 2 (3 for a run that could
    not finish, `jobs.collect.SweepAbortedError`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from calib.errors import CalibError

        from .collect import SweepAbortedError
        from .errors import StoreLeaseLostError

        try:
            return func(*args, **kwargs)
        except (SweepAbortedError, StoreLeaseLostError) as exc:
            click.echo(f"calib: error: the run could not finish: {' '.join(str(exc).split())}; "
                       "finished tasks are kept, run the same command to resume", err=True)
            sys.exit(3)
        except CalibError as exc:
            _fail(str(exc))
    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(_version(), "--version", prog_name="calib")
def main() -> None:
    """calib: multi-start parameter calibration on Dask, results in zarr."""


def _quiet_dask() -> None:
    """Silence Dask's logging: a sweep that is stopping says why in one line of its own."""
    import logging

    prefixes = ("distributed", "tornado", "asyncio")
    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in prefixes]
    for name in (*prefixes, *names):  # Dask's config gives some children levels of their own
        logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def _interrupted(store: str, client: Any = None) -> None:
    """After Ctrl-C: Dask's shutdown noise silenced (here and on the embedded cluster's
    workers, whose cancelled tasks would log), one line saying how far the sweep got, exit 130.
    """
    from .store import Store

    _quiet_dask()
    if client is not None and getattr(client, "cluster", None) is not None:
        try:
            client.run(_quiet_dask, on_error="ignore")
        except Exception:  # noqa: BLE001 - a worker already gone: nothing of it to silence
            pass
    try:
        done = Store.open(store).done_chunks()
        where = f"{int(done.sum())} of {done.size} tasks done"
    except Exception:  # noqa: BLE001 - no store yet, or one being written: say so, exit
        where = "no task done"
    click.echo(f"interrupted: {where}; run the same command to resume", err=True)
    sys.exit(130)


def _run(spec: Any, store: str, *, scheduler: str | None, scheduler_file: str | None,
         workers: int | None, overwrite: bool, tls: Any = None,
         retry_failed: bool = False) -> Any:
    try:
        return _run_sweep(spec, store, scheduler=scheduler, scheduler_file=scheduler_file,
                          workers=workers, overwrite=overwrite, tls=tls,
                          retry_failed=retry_failed)
    except KeyboardInterrupt:
        _interrupted(store)


def _run_sweep(spec: Any, store: str, *, scheduler: str | None, scheduler_file: str | None,
               workers: int | None, overwrite: bool, tls: Any, retry_failed: bool) -> Any:
    from calib.errors import CalibError

    import dask.config

    from .cluster import check_options, connect
    from .lease import StoreLease
    from .options_check import TlsOptions, check_connection_options
    from .plan import plan_sweep
    from .progress import TaskProgress
    from .runner import check_store, run_sweep

    # every bad input is refused here, before a cluster starts or the store is touched
    check_options(scheduler=scheduler, scheduler_file=scheduler_file, workers=workers)
    tls = tls or TlsOptions()
    check_connection_options(scheduler=scheduler, scheduler_file=scheduler_file, tls=tls)
    plan = plan_sweep(spec)
    check_store(plan, store, overwrite=overwrite)
    # one writer per store (a live holder: exit 2 naming it); TLS settings for the client
    with StoreLease.acquire(store) as lease, dask.config.set(tls.dask_config()), \
            connect(scheduler=scheduler, scheduler_file=scheduler_file, workers=workers) as client:
        _echo_dashboard(client)
        bar = TaskProgress(sys.stderr)  # tasks, starts done and failed, elapsed, ETA
        try:
            try:
                result = run_sweep(spec, store, client, overwrite=overwrite,
                                   on_task=bar.on_task, plan=plan, retry_failed=retry_failed,
                                   lease_token=lease.holder.token)
            finally:
                bar.close()
        except KeyboardInterrupt:
            _interrupted(store, client)  # before the cluster closes: it closes quietly
        except CalibError:  # the run could not finish (exit 3): the client's close is quiet
            _quiet_dask()
            raise
    click.echo(f"store: {result.store} ({result.tasks_run} tasks run, "
               f"{result.tasks_skipped} already done)")
    return result


def _echo_dashboard(client: Any) -> None:
    """Print the Dask dashboard link only when the scheduler really serves the dashboard (an
    HTTP GET, `jobs.cluster.dashboard_problem`); otherwise one line saying why not."""
    from .cluster import dashboard_problem

    link = getattr(client, "dashboard_link", None)
    if not link or "dashboard" not in client.scheduler_info().get("services", {}):
        return
    problem = dashboard_problem(link)
    if problem is None:
        click.echo(f"Dask dashboard: {link}", err=True)
    else:
        click.echo(f"Dask dashboard: off ({problem})", err=True)


def _exit_for(result: Any) -> None:
    from .convergence import sweep_no_convergence

    no_convergence = sweep_no_convergence(_open(result.store))
    if no_convergence is not None:  # nothing to report: exit 1, one line
        click.echo(no_convergence, err=True)
        sys.exit(1)
    if result.starts_failed:
        click.echo(f"{result.starts_failed} of {result.starts_total} starts failed "
                   f"(see `calib status {result.store}`)", err=True)
        sys.exit(1)


def _run_options(func: F) -> F:
    options = [
        click.option("--store", type=click.Path(), default=None,
                     help="zarr store (default: <sweep name>.zarr in the current directory)"),
        click.option("--scheduler", default=None, help="address of a Dask scheduler, tcp://HOST:PORT"),
        click.option("--scheduler-file", type=click.Path(), default=None,
                     help="a Dask scheduler file"),
        click.option("--workers", type=int, default=None,
                     help="worker processes of the embedded cluster (default: one per core)"),
        click.option("--overwrite", is_flag=True, help="replace a store that holds another sweep"),
        click.option("--retry-failed", is_flag=True,
                     help="also rerun the chunks of a resumed store that hold failed or "
                          "timed-out starts"),
        click.option("--tls-ca-file", type=click.Path(), default=None,
                     help="CA certificate for a tls:// scheduler (see docs/security.md)"),
        click.option("--tls-cert", type=click.Path(), default=None,
                     help="client certificate for a tls:// scheduler"),
        click.option("--tls-key", type=click.Path(), default=None,
                     help="client private key for a tls:// scheduler"),
    ]
    for option in reversed(options):
        func = option(func)
    return func


@main.command("run")
@click.argument("spec_path", metavar="SPEC", type=click.Path(dir_okay=False))
@_run_options
@user_errors
def run_command(spec_path: str, store: str | None, scheduler: str | None,
                scheduler_file: str | None, workers: int | None, overwrite: bool,
                retry_failed: bool, tls_ca_file: str | None, tls_cert: str | None,
                tls_key: str | None) -> None:
    """Run (or resume) the sweep described by the TOML file SPEC."""
    from .cluster import check_options
    from .options_check import TlsOptions
    from .spec import load_spec

    check_options(scheduler=scheduler, scheduler_file=scheduler_file, workers=workers)
    tls = TlsOptions(ca_file=tls_ca_file, cert=tls_cert, key=tls_key)
    spec = load_spec(spec_path)
    result = _run(spec, store or f"{spec.sweep.name}.zarr", scheduler=scheduler,
                  scheduler_file=scheduler_file, workers=workers, overwrite=overwrite, tls=tls,
                  retry_failed=retry_failed)
    _exit_for(result)


main.add_command(run_command, "submit")


@main.command("demo")
@click.option("--store", type=click.Path(), default="calib-demo.zarr", show_default=True)
@click.option("--workers", type=int, default=None,
              help="worker processes (default: one per core)")
@user_errors
def demo_command(store: str, workers: int | None) -> None:
    """Fit GARCH(1,1) to 4 simulated series from 16 starts each, on a local Dask cluster."""
    from .demo import demo_spec, truth_rows

    spec = demo_spec()
    result = _run(spec, store, scheduler=None, scheduler_file=None, workers=workers,
                  overwrite=False)
    click.echo(_best_text(store))
    click.echo("\ntrue parameters:")
    click.echo(truth_rows(spec))
    _exit_for(result)


def _open(store: str) -> Any:
    from .store import Store

    return Store.open(store)


def _best_text(store_path: str, fmt: str = "table", *, errors: bool = False) -> str:
    """The selection in ``fmt``; its warnings go to stderr, one line each."""
    from .report import best_csv, best_json, best_table, best_warnings, with_standard_errors
    from .selection import selection_rows, stored_selection

    store = _open(store_path)
    store.require_intact(("x", "fun", "status"))  # what the selection reads
    rows = stored_selection(store) or selection_rows(store)
    if errors:
        rows = with_standard_errors(store, rows)
    for line in best_warnings(rows, errors=errors):
        click.echo(line, err=True)
    params = store.sweep_spec.parameter_names  # the fixed ones too (the store's are the free)
    if fmt == "json":
        return best_json(rows, errors=errors)
    if fmt == "csv":
        return best_csv(rows, params, errors=errors)
    return best_table(rows, params, errors=errors)


@main.command("status")
@click.argument("store", type=click.Path())
@click.option("--watch", is_flag=True,
              help="follow a sweep that another process runs until it finishes: a line when "
                   "the counts change, then the table (Ctrl-C: exit 130)")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="seconds between looks with --watch")
@user_errors
def status_command(store: str, watch: bool, interval: float) -> None:
    """Starts converged / not converged / failed / pending per dataset."""
    from .report import format_table, status_rows

    if watch:
        _watch(store, interval)
    opened = _open(store)
    opened.require_intact(("status",))
    rows = status_rows(opened)
    keys = ["dataset", "converged", "not_converged", "failed", "pending", "chunks"]
    click.echo(format_table(keys, [[r[k] for k in keys] for r in rows]))


def _watch(store: str, interval: float) -> None:
    """Follow ``store`` until every chunk is done (then return: the table follows); exit 3 when
    no live run holds it before that, 130 on Ctrl-C (the sweep itself goes on)."""
    from .progress import snapshot_line, store_snapshot, watch_store

    try:
        outcome = watch_store(lambda: store_snapshot(store),
                              lambda line: click.echo(line, err=True), interval=interval)
    except KeyboardInterrupt:
        click.echo("interrupted: stopped watching (the sweep itself goes on)", err=True)
        sys.exit(130)
    if not outcome.finished:
        click.echo(f"calib: error: no run is writing {store} any more "
                   f"({snapshot_line(outcome.last)}); run `calib run` on its spec to resume",
                   err=True)
        sys.exit(3)


@main.command("best")
@click.argument("store", type=click.Path())
@click.option("--csv", "as_csv", is_flag=True, help="CSV instead of a table")
@click.option("--json", "as_json", is_flag=True, help="JSON: one object per dataset")
@click.option("--errors", is_flag=True,
              help="standard errors from the Hessian at the best point (rebuilds the problems)")
@user_errors
def best_command(store: str, as_csv: bool, as_json: bool, errors: bool) -> None:
    """The best point per dataset (polished), verified distinct minima, hits, premature stops."""
    if as_csv and as_json:
        _fail("--csv and --json are mutually exclusive")
    click.echo(_best_text(store, "json" if as_json else "csv" if as_csv else "table",
                          errors=errors))


def _dataset_index(store: Any, name: str) -> int:
    from .errors import SpecError

    if name not in store.layout.datasets:
        raise SpecError("--dataset", f"{name!r} is not in the store; datasets: "
                        f"{', '.join(store.layout.datasets)}")
    return store.layout.datasets.index(name)


@main.command("show")
@click.argument("store", type=click.Path())
@click.option("--dataset", required=True, help="dataset name (see `calib status`)")
@user_errors
def show_command(store: str, dataset: str) -> None:
    """Every start of one dataset sorted by objective, with a text waterfall."""
    from .report import best_warnings, show_text
    from .selection import selection_rows, stored_selection

    opened = _open(store)
    index = _dataset_index(opened, dataset)
    opened.require_intact(datasets=[index])
    rows = stored_selection(opened) or selection_rows(opened)
    for line in best_warnings([rows[index]]):
        click.echo(line, err=True)
    click.echo(show_text(opened, index, rows[index]))


@main.command("trace")
@click.argument("store", type=click.Path())
@click.option("--dataset", required=True, help="dataset name")
@click.option("--start", "start", type=int, required=True, help="start index")
@user_errors
def trace_command(store: str, dataset: str, start: int) -> None:
    """The per-iteration trace of one start."""
    from .errors import SpecError
    from .report import trace_text

    opened = _open(store)
    d = _dataset_index(opened, dataset)
    if not 0 <= start < opened.layout.n_starts:
        raise SpecError("--start", f"must be in 0..{opened.layout.n_starts - 1}, got {start}")
    opened.require_intact(datasets=[d], chunks=[start // opened.layout.starts_per_task])
    trace = opened.read_trace(d, start)
    if trace is None:
        raise SpecError("--start", f"start {start} of {dataset!r} has no trace (traces off, "
                        "or the start failed or has not run)")
    click.echo(trace_text(trace, opened.layout.parameters))


@main.command("verify")
@click.argument("store", type=click.Path())
@user_errors
def verify_command(store: str) -> None:
    """Check every chunk of a store against its checksums, and its spec against its hash."""
    opened = _open(store)
    done, total = opened.verify()
    click.echo(f"store {store}: {done} of {total} chunks done, all intact; the spec matches "
               "its hash")


@main.command("report")
@click.argument("store", type=click.Path())
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="report.html",
              show_default=True, help="the HTML file to write")
@user_errors
def report_command(store: str, output: str) -> None:
    """One self-contained HTML page: spec, status, best with errors, plots, failures."""
    from pathlib import Path

    from .html_report import report_html

    page = report_html(_open(store))
    Path(output).write_text(page, encoding="utf-8")
    click.echo(f"report: {output}")


@main.command("export")
@click.argument("store", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["csv", "json", "parquet"]), default="csv",
              show_default=True, help="parquet needs pyarrow (the `export` extra)")
@click.option("--what", type=click.Choice(["starts", "best"]), default="starts",
              show_default=True, help="every start, or the best point per dataset")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="file to write (default: stdout; required for parquet)")
@user_errors
def export_command(store: str, fmt: str, what: str, output: str | None) -> None:
    """Every start (or the selection) of a store as CSV, JSON or parquet."""
    from pathlib import Path

    from .api import open_results
    from .errors import SpecError
    from .export import best_table_of, to_csv, to_json, write_parquet

    if fmt == "parquet" and output is None:
        raise SpecError("--format parquet", "writes a binary file: give it with -o FILE")
    results = open_results(store)
    table = (results.start_table() if what == "starts" else
             best_table_of(results.selection_rows(), results.store.sweep_spec.parameter_names))
    if fmt == "parquet":
        write_parquet(table, str(output))
        return
    text = to_csv(table) if fmt == "csv" else to_json(table) + "\n"
    if output is None:
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@main.command("plot")
@click.argument("store", type=click.Path())
@click.option("--kind", type=click.Choice(["waterfall", "traces", "params", "minima"]),
              required=True, help="what to draw (docs/plots.md)")
@click.option("-o", "--output", type=click.Path(dir_okay=False), required=True,
              help="image file (.png, .svg or .pdf)")
@click.option("--dataset", default=None, help="dataset of --kind params (default: the first)")
@click.option("--by", type=click.Choice(["iteration", "evaluations"]), default="iteration",
              show_default=True, help="x axis of --kind traces")
@click.option("--errors", is_flag=True, help="error bars of one standard error (--kind minima)")
@user_errors
def plot_command(store: str, kind: str, output: str, dataset: str | None, by: str,
                 errors: bool) -> None:
    """Draw a store's waterfall, convergence traces, end points or best parameters (needs
    matplotlib: the `plot` extra)."""
    from .api import open_results
    from .plots import plot_figure, save_plot

    results = open_results(store)
    index = 0 if dataset is None else results.dataset_index(dataset)
    rows = results.selection_rows(errors=errors)
    save_plot(plot_figure(results.store, kind, rows=rows, dataset=index, by=by), output)
    click.echo(f"wrote {output}")
