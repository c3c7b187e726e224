"""How big a sweep's store will be, estimated before anything runs, and the caps on it.

`estimate_store` gives two sizes from the plan's shape: the bytes of the final results
(``x0``, ``x``, ``fun`` and the small per-start arrays), which `calib best` and the selection
read into memory whole, and the raw (uncompressed) bytes of the whole store, traces included.
`check_sweep_size` refuses a sweep past `MAX_RESULT_BYTES` or `MAX_STORE_BYTES` (or with more
than `MAX_TOTAL_STARTS` starts, each a row of every array and a share of some task), naming
``[starts].n`` and the estimate, so a typo such as ``n = 10000000000`` fails in milliseconds
instead of after a plan of billions of tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SpecError

__all__ = ["StoreEstimate", "estimate_store", "check_sweep_size", "MAX_TOTAL_STARTS",
           "MAX_RESULT_BYTES", "MAX_STORE_BYTES"]

#: starts of all datasets together, at most
MAX_TOTAL_STARTS = 100_000_000
#: final results read into memory by the selection, at most (bytes)
MAX_RESULT_BYTES = 4 * 2**30
#: raw size of a store, traces included, at most (bytes)
MAX_STORE_BYTES = 2**40

#: bytes per start of the per-start scalar arrays: fun, seconds (8 each), nit, nfev,
#: trace_len (4 each), status, success (1 each), and ~16 of message
_SCALAR_BYTES = 8 + 8 + 4 + 4 + 4 + 1 + 1 + 16


@dataclass(frozen=True)
class StoreEstimate:
    """Estimated sizes (bytes) of a sweep's store: results in memory, the whole store raw."""

    total_starts: int
    result_bytes: int
    store_bytes: int


def estimate_store(*, n_datasets: int, n_starts: int, n_parameters: int,
                   trace_length: int) -> StoreEstimate:
    """Sizes for ``n_datasets`` x ``n_starts`` starts of ``n_parameters`` parameters and
    ``trace_length`` trace rows per start (0: no traces)."""
    total = n_datasets * n_starts
    results = total * (2 * 8 * n_parameters + _SCALAR_BYTES)
    traces = total * trace_length * (8 + 8 + 8 + 8 * n_parameters)
    return StoreEstimate(total_starts=total, result_bytes=results, store_bytes=results + traces)


def _gib(n: int) -> str:
    return f"{n / 2**30:.3g} GiB"


def check_sweep_size(*, n_datasets: int, n_starts: int, n_parameters: int,
                     trace_length: int) -> StoreEstimate:
    """The estimate, or `SpecError` naming ``[starts].n`` when the sweep is past a cap."""
    est = estimate_store(n_datasets=n_datasets, n_starts=n_starts, n_parameters=n_parameters,
                         trace_length=trace_length)
    shape = f"{n_datasets} dataset(s) x {n_starts} starts"
    if est.total_starts > MAX_TOTAL_STARTS:
        raise SpecError("[starts].n", f"is too large: {shape} = {est.total_starts} starts, at "
                        f"most {MAX_TOTAL_STARTS} in one sweep (split it into several sweeps)")
    if est.result_bytes > MAX_RESULT_BYTES:
        raise SpecError("[starts].n", f"is too large: {shape} need ~{_gib(est.result_bytes)} "
                        f"of results in memory, at most {_gib(MAX_RESULT_BYTES)}")
    if est.store_bytes > MAX_STORE_BYTES:
        raise SpecError("[starts].n", f"is too large: {shape} with {trace_length} trace rows "
                        f"each need a store of ~{_gib(est.store_bytes)} raw, at most "
                        f"{_gib(MAX_STORE_BYTES)} (fewer starts, a lower maxiter, or "
                        "[solver].trace = false)")
    return est
