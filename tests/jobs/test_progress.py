"""Progress you can see: the run's progress line, `calib status --watch`, the dashboard check."""

from __future__ import annotations

import http.server
import importlib.util
import io
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from jobs.cli import main
from jobs.cluster import dashboard_problem
from jobs.progress import (ProgressState, StoreSnapshot, TaskProgress, eta_seconds,
                           format_duration, progress_line, snapshot_line, store_snapshot,
                           watch_store)
from jobs.store import Store, StoreLayout
from tests.jobs.conftest import free_port


def _report(n_starts: int = 4, n_failed: int = 0) -> SimpleNamespace:
    return SimpleNamespace(n_starts=n_starts, n_failed=n_failed)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_eta_is_the_remaining_tasks_at_this_runs_rate() -> None:
    # resumed with 2 of 10 done; 4 more in 8 s: 2 s a task, 4 left
    state = ProgressState(tasks_done=6, tasks_total=10, tasks_at_start=2, starts_done=16,
                          starts_failed=1, elapsed=8.0)
    assert eta_seconds(state) == pytest.approx(8.0)
    assert eta_seconds(ProgressState(2, 10, 2, 0, 0, 0.0)) is None
    assert eta_seconds(ProgressState(10, 10, 0, 40, 0, 3.0)) == 0.0


@pytest.mark.parametrize(("seconds", "text"), [(None, "?"), (0.4, "0:00"), (75, "1:15"),
                                              (3725, "1:02:05")])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


def test_progress_line_shows_tasks_starts_done_and_failed_and_eta() -> None:
    line = progress_line(ProgressState(6, 12, 0, 24, 3, 30.0))
    assert line == ("tasks [############------------] 6/12  starts 24 done, 3 failed  "
                    "0:30 elapsed, ETA 0:30")


def test_log_output_writes_a_line_per_interval_and_the_last() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = TaskProgress(stream, tty=False, clock=clock, interval=10.0)
    for done, step in zip(range(1, 6), [1.0, 2.0, 9.0, 1.0, 1.0]):
        clock.now += step
        bar.on_task(_report(n_failed=1 if done == 2 else 0), done, 5)
    bar.close()
    lines = stream.getvalue().splitlines()
    # task 1 (the first), task 3 (12 s after it), task 5 (the last)
    assert [line.split("]")[1].split()[0] for line in lines] == ["1/5", "3/5", "5/5"]
    assert lines[-1].endswith("starts 20 done, 1 failed  0:14 elapsed, ETA 0:00")


def test_terminal_output_redraws_one_line_counting_only_this_runs_starts() -> None:
    stream, clock = io.StringIO(), FakeClock()
    bar = TaskProgress(stream, tty=True, clock=clock)
    for done in (4, 5):  # a resumed run: 3 tasks were done before it
        clock.now += 5.0
        bar.on_task(_report(n_starts=2, n_failed=2), done, 6)
    bar.close()
    text = stream.getvalue()
    assert text.count("\r") == 2 and text.endswith("\n") and text.count("\n") == 1
    assert text.rstrip().endswith("5/6  starts 4 done, 4 failed  0:10 elapsed, ETA 0:05")


def _snap(done: int, *, pending: int, live: bool = True, total: int = 4) -> StoreSnapshot:
    return StoreSnapshot(chunks_done=done, chunks_total=total, converged=8 - pending,
                         not_converged=0, failed=0, pending=pending, writer_live=live)


def test_watch_emits_a_line_when_the_counts_change_until_every_chunk_is_done() -> None:
    looks = iter([_snap(0, pending=8), _snap(0, pending=8), _snap(2, pending=4),
                  _snap(2, pending=4, live=False), _snap(4, pending=0, live=False)])
    lines: list[str] = []
    sleeps: list[float] = []
    outcome = watch_store(lambda: next(looks), lines.append, interval=0.5, sleep=sleeps.append)
    assert outcome.finished and outcome.last.chunks_done == 4
    assert lines == [snapshot_line(_snap(0, pending=8)), snapshot_line(_snap(2, pending=4)),
                     snapshot_line(_snap(4, pending=0))]
    assert lines[1] == ("2/4 tasks done; starts: 4 converged, 0 not converged, 0 failed, "
                        "4 pending")
    assert sleeps == [0.5] * 4


def test_watch_gives_up_when_no_run_holds_the_store_for_patience_looks() -> None:
    looks = iter([_snap(1, pending=6, live=False)] * 2 + [_snap(1, pending=6)]
                 + [_snap(1, pending=6, live=False)] * 3)
    outcome = watch_store(lambda: next(looks), lambda line: None, interval=1.0,
                          sleep=lambda s: None, patience=3)
    assert not outcome.finished
    with pytest.raises(StopIteration):  # it looked exactly 6 times
        next(looks)


def _empty_store(path: Path) -> Store:
    layout = StoreLayout(datasets=("a", "b"), parameters=("p",), n_starts=4, starts_per_task=2,
                         trace_length=0)
    return Store.create(path, layout, spec={"sweep": {"name": "w"}}, spec_hash="0" * 64,
                        engine_version="test")


def test_status_watch_on_a_store_nobody_writes_exits_3(tmp_path: Path) -> None:
    store = tmp_path / "idle.zarr"
    _empty_store(store)
    assert store_snapshot(str(store)) == StoreSnapshot(0, 4, 0, 0, 0, 8, False)
    result = CliRunner().invoke(main, ["status", str(store), "--watch", "--interval", "0.1"])
    assert result.exit_code == 3, result.output
    assert result.stderr.splitlines() == [
        "0/4 tasks done; starts: 0 converged, 0 not converged, 0 failed, 8 pending",
        f"calib: error: no run is writing {store} any more (0/4 tasks done; starts: 0 "
        "converged, 0 not converged, 0 failed, 8 pending); run `calib run` on its spec to "
        "resume"]


def test_status_watch_ctrl_c_exits_130(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "idle.zarr"
    _empty_store(store)

    def interrupt(path: str) -> StoreSnapshot:
        raise KeyboardInterrupt

    monkeypatch.setattr("jobs.progress.store_snapshot", interrupt)
    result = CliRunner().invoke(main, ["status", str(store), "--watch"])
    assert result.exit_code == 130, result.output
    assert result.stderr.splitlines()[-1] == ("interrupted: stopped watching (the sweep itself "
                                              "goes on)")


class _Page(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def page_server() -> Iterator[tuple[str, type[_Page]]]:
    handler = type("Handler", (_Page,), {})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/status", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_dashboard_check_refuses_distributeds_missing_bokeh_page(
        page_server: tuple[str, type[_Page]]) -> None:
    from distributed.versions import BOKEH_REQUIREMENT

    link, handler = page_server
    handler.body = f"<p>Dask needs {BOKEH_REQUIREMENT} for the dashboard.</p>".encode()
    assert dashboard_problem(link) == ("bokeh is not installed where the scheduler runs "
                                       "(pip install 'calib[dashboard]')")
    handler.body = b"<html><head><title>Dask: Status</title></head><body>plots</body></html>"
    assert dashboard_problem(link) is None


def test_dashboard_check_on_a_closed_port_says_it_does_not_answer() -> None:
    link = f"http://127.0.0.1:{free_port()}/status"
    problem = dashboard_problem(link, timeout=1.0)
    assert problem is not None and problem.startswith(f"{link} does not answer")


def test_embedded_cluster_without_bokeh_gets_no_link(tmp_path: Path) -> None:
    from distributed import LocalCluster

    has_bokeh = importlib.util.find_spec("bokeh") is not None  # decides the right answer
    with LocalCluster(n_workers=0, processes=False, dashboard_address="127.0.0.1:0") as cluster:
        problem = dashboard_problem(cluster.dashboard_link)
    assert (problem is None) == has_bokeh, problem
