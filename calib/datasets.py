"""Named datasets: loaders for CSV, ``.npy`` and ``.npz`` files, globs, and simulated data.

A `Dataset` is a float64 table with named columns and a stable name that is stored with the
results: the file stem for a file, ``'sim-000'``, ``'sim-001'``, ... for simulated data. Every
loading problem raises a `DatasetError` naming the file and what was wrong (the missing column,
the row and column of a bad cell, ...).
"""

from __future__ import annotations

import csv
import glob
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from calib.errors import DatasetError, ProblemError
from calib.models.base import Model

__all__ = ["Dataset", "SUFFIXES", "load_dataset", "load_datasets", "simulate_datasets"]

FloatArray = npt.NDArray[np.float64]
PathLike = str | os.PathLike[str]

#: file suffixes `load_dataset` reads
SUFFIXES = (".csv", ".npy", ".npz")


@dataclass(frozen=True, eq=False)
class Dataset:
    """One dataset: a named float64 table.

    Attributes
    ----------
    name : str
        Stable, non-empty name stored with the results (file stem or ``'sim-NNN'``).
    values : ndarray, shape (n_obs, n_columns)
        The data, float64, read-only; ``n_obs >= 1``.
    columns : tuple of str
        Column names, one per column of ``values``, in order.

    Two datasets are equal when name, columns and values (bit for bit, NaN never) are equal.

    Raises
    ------
    DatasetError
        For an empty name, values that are not a non-empty 2-d numeric table, or a column count
        that differs from ``len(columns)``.
    """

    name: str
    values: FloatArray
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise DatasetError(f"dataset name must be a non-empty string, got {self.name!r}")
        columns = _parse_columns(self.columns)
        try:
            values = np.array(self.values, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DatasetError(f"dataset {self.name!r}: values are not numeric: {exc}") from exc
        if values.ndim != 2 or values.shape[0] == 0:
            raise DatasetError(
                f"dataset {self.name!r}: values must be a 2-d table with at least one row, "
                f"got shape {values.shape}")
        if values.shape[1] != len(columns):
            raise DatasetError(
                f"dataset {self.name!r}: {values.shape[1]} value columns but "
                f"{len(columns)} column names {list(columns)}")
        values.setflags(write=False)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "columns", columns)

    @property
    def n_obs(self) -> int:
        """Number of observations (rows)."""
        return int(self.values.shape[0])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return (self.name == other.name and self.columns == other.columns
                and np.array_equal(self.values, other.values))

    __hash__ = None  # type: ignore[assignment]


def _parse_columns(columns: Any) -> tuple[str, ...]:
    """Return ``columns`` as a non-empty tuple of distinct non-empty strings."""
    if isinstance(columns, str) or not isinstance(columns, Sequence):
        raise DatasetError(f"columns must be a sequence of names, got {columns!r}")
    names = tuple(columns)
    if not names or not all(isinstance(c, str) and c for c in names):
        raise DatasetError(f"columns must be one or more non-empty names, got {list(names)}")
    duplicates = sorted({c for c in names if names.count(c) > 1})
    if duplicates:
        raise DatasetError(f"columns must be distinct; repeated: {duplicates}")
    return names


def load_dataset(path: PathLike, columns: Sequence[str]) -> Dataset:
    """Load one file as a `Dataset` named after the file stem.

    Parameters
    ----------
    path : str or path-like
        A ``.csv`` file with a header row (the named columns are taken, in the order of
        ``columns``; other columns are ignored), a ``.npy`` file (1-d: one column; 2-d: one
        column per name), or a ``.npz`` file (one 1-d array per name, all the same length).
    columns : sequence of str
        Names of the columns to read, in the order the objective expects them.

    Returns
    -------
    Dataset
        ``values`` of shape ``(n_obs, len(columns))``.

    Raises
    ------
    DatasetError
        For a missing file, an unsupported suffix, an empty file, a missing column (named, with
        the columns present), a non-numeric or non-finite cell (row and column named), or an
        array whose shape does not match ``columns``.
    """
    names = _parse_columns(columns)
    file = Path(path)
    if not file.is_file():
        what = "is a directory, not a file" if file.is_dir() else "does not exist"
        raise DatasetError(f"data file {str(file)!r} {what}")
    suffix = file.suffix.lower()
    readers = {".csv": _read_csv, ".npy": _read_npy, ".npz": _read_npz}
    reader = readers.get(suffix)
    if reader is None:
        raise DatasetError(
            f"data file {str(file)!r}: unsupported suffix {file.suffix!r}; "
            f"supported: {', '.join(SUFFIXES)}")
    values = reader(file, names)
    _check_finite(file, values, names)
    return Dataset(name=file.stem, values=values, columns=names)


def _read_csv(file: Path, names: tuple[str, ...]) -> FloatArray:
    """Read the named columns of a CSV file with a header row."""
    try:
        with file.open(newline="", encoding="utf-8-sig") as handle:
            rows = [(n, row) for n, row in enumerate(csv.reader(handle), start=1)
                    if any(cell.strip() for cell in row)]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"CSV file {str(file)!r} is not UTF-8 text (byte {exc.start}: "
                           f"{exc.object[exc.start:exc.start + 1]!r}); is it a binary file?") \
            from None
    except csv.Error as exc:  # e.g. a NUL byte
        raise DatasetError(f"CSV file {str(file)!r} cannot be read as CSV: {exc}") from None
    if any("\x00" in cell for _, row in rows for cell in row):
        raise DatasetError(f"CSV file {str(file)!r} holds NUL bytes; is it a binary file?")
    if not rows:
        raise DatasetError(f"CSV file {str(file)!r} is empty (no header row)")
    header = [cell.strip() for cell in rows[0][1]]
    missing = [c for c in names if c not in header]
    if missing:
        raise DatasetError(
            f"CSV file {str(file)!r} has no column {missing[0]!r}"
            + (f" (missing: {missing})" if len(missing) > 1 else "")
            + f"; columns present: {header}")
    if len(rows) == 1:
        raise DatasetError(f"CSV file {str(file)!r} has a header but no data rows")
    indices = [header.index(c) for c in names]
    values = np.empty((len(rows) - 1, len(names)))
    for i, (line, row) in enumerate(rows[1:]):
        where = f"data row {i + 1} (line {line})"
        for j, (name, k) in enumerate(zip(names, indices)):
            if k >= len(row):
                raise DatasetError(
                    f"CSV file {str(file)!r}, {where} has {len(row)} cells, "
                    f"no cell for column {name!r}")
            values[i, j] = _parse_cell(file, where, name, row[k])
    return values


def _parse_cell(file: Path, where: str, column: str, cell: str) -> float:
    """Return a CSV cell as a finite float or raise naming the row and column."""
    try:
        value = float(cell.strip())
    except ValueError:
        value = None
    if value is None or not math.isfinite(value):
        what = "is not a number" if value is None else "is not a finite number"
        raise DatasetError(
            f"CSV file {str(file)!r}, {where}, column {column!r}: {cell!r} {what}")
    return value


def _read_npy(file: Path, names: tuple[str, ...]) -> FloatArray:
    """Read a 1-d (one column) or 2-d (one column per name) numeric ``.npy`` array."""
    array = _numeric(file, "array", _load_array(file))
    if array.ndim == 1:
        array = array[:, np.newaxis]
    if array.ndim != 2 or array.shape[0] == 0:
        raise DatasetError(
            f"NPY file {str(file)!r}: expected a non-empty 1-d or 2-d array, "
            f"got shape {array.shape}")
    if array.shape[1] != len(names):
        raise DatasetError(
            f"NPY file {str(file)!r} has {array.shape[1]} column(s) but {len(names)} column "
            f"name(s) were given: {list(names)}")
    return array


def _read_npz(file: Path, names: tuple[str, ...]) -> FloatArray:
    """Stack the 1-d arrays named ``names`` of a ``.npz`` archive as columns."""
    archive = _load_array(file)
    with archive:
        present = list(archive.files)
        missing = [c for c in names if c not in present]
        if missing:
            raise DatasetError(
                f"NPZ file {str(file)!r} has no array(s) {missing}; arrays present: {present}")
        try:
            arrays = [_numeric(file, f"array {c!r}", archive[c]) for c in names]
        except (OSError, ValueError) as exc:  # e.g. an object array (pickles are refused)
            raise DatasetError(f"cannot read {str(file)!r}: {exc}") from exc
    lengths = {c: a.shape for c, a in zip(names, arrays)}
    if any(a.ndim != 1 or a.size == 0 for a in arrays) or len(set(lengths.values())) != 1:
        raise DatasetError(
            f"NPZ file {str(file)!r}: arrays {list(names)} must be non-empty, 1-d and of one "
            f"length; got shapes {lengths}")
    return np.column_stack(arrays)


def _load_array(file: Path) -> Any:
    try:
        return np.load(file, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"cannot read {str(file)!r}: {exc}") from exc


def _numeric(file: Path, what: str, array: Any) -> FloatArray:
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        kind = getattr(array, "dtype", type(array).__name__)
        raise DatasetError(f"file {str(file)!r}: {what} is not numeric (dtype {kind})")
    return array.astype(np.float64)


def _check_finite(file: Path, values: FloatArray, names: tuple[str, ...]) -> None:
    """Raise naming the first NaN or infinite value (its 0-based row and its column)."""
    bad = np.argwhere(~np.isfinite(values))
    if bad.size:
        row, col = (int(v) for v in bad[0])
        raise DatasetError(
            f"data file {str(file)!r}: row {row} (0-based), column {names[col]!r} is "
            f"{float(values[row, col])!r}, not a finite number")


def load_datasets(files: PathLike | Sequence[PathLike], columns: Sequence[str]) -> list[Dataset]:
    """Load one `Dataset` per file from a glob pattern, a single path, or a list of paths.

    Parameters
    ----------
    files : str, path-like or sequence of them
        A glob pattern (``'data/*.csv'``; ``**`` recurses) expanded in sorted order, a single
        path, or a list of paths kept in the given order.
    columns : sequence of str
        Passed to `load_dataset`.

    Returns
    -------
    list of Dataset
        Named by file stem, in a deterministic order.

    Raises
    ------
    DatasetError
        For a glob that matches no file (the pattern is named), an empty list, two files with
        the same stem, or any error of `load_dataset`.
    """
    paths = _expand(files)
    by_stem: dict[str, Path] = {}
    for path in paths:
        if path.stem in by_stem:
            raise DatasetError(
                f"two data files share the name {path.stem!r}: {str(by_stem[path.stem])!r} and "
                f"{str(path)!r}; dataset names (file stems) must be unique")
        by_stem[path.stem] = path
    return [load_dataset(path, columns) for path in paths]


def _expand(files: PathLike | Sequence[PathLike]) -> list[Path]:
    if isinstance(files, (str, os.PathLike)):
        pattern = os.fspath(files)
        if not glob.has_magic(pattern):
            return [Path(pattern)]
        matches = sorted(m for m in glob.glob(pattern, recursive=True) if os.path.isfile(m))
        if not matches:
            raise DatasetError(f"data glob {pattern!r} matches no file")
        return [Path(m) for m in matches]
    if not isinstance(files, Sequence) or not files:
        raise DatasetError(f"data files must be a glob, a path or a non-empty list, got {files!r}")
    bad = [f for f in files if not isinstance(f, (str, os.PathLike))]
    if bad:
        raise DatasetError(f"data file entries must be paths, got {bad[0]!r}")
    return [Path(os.fspath(f)) for f in files]


def simulate_datasets(model: Model, truth: Mapping[str, float], n_datasets: int,
                      n_points: int, seed: int) -> list[Dataset]:
    """Simulate ``n_datasets`` datasets from a built-in model at known parameters.

    Dataset ``i`` is named ``f'sim-{i:03d}'`` and drawn from its own stream
    ``numpy.random.default_rng([seed, i])``, so it does not depend on ``n_datasets``.

    Parameters
    ----------
    model : Model
        The model whose ``simulate`` draws the data.
    truth : mapping of str to float
        The true value of every parameter of ``model`` (natural units), by name.
    n_datasets : int
        Number of datasets, >= 1.
    n_points : int
        Observations per dataset, >= 2.
    seed : int
        Non-negative base seed.

    Raises
    ------
    ProblemError
        When ``truth`` misses or adds a parameter name or holds a non-finite value.
    DatasetError
        For a non-positive count, fewer than 2 points or a negative seed.
    """
    vector = _truth_vector(model, truth)
    for label, value, least in (("n_datasets", n_datasets, 1), ("n_points", n_points, 2),
                                ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise DatasetError(f"{label} must be an integer >= {least}, got {value!r}")
    return [Dataset(name=f"sim-{i:03d}",
                    values=model.simulate(vector, int(n_points),
                                          np.random.default_rng([int(seed), i])),
                    columns=model.columns)
            for i in range(int(n_datasets))]


def _truth_vector(model: Model, truth: Mapping[str, float]) -> FloatArray:
    names = [p.name for p in model.parameters]
    missing = [n for n in names if n not in truth]
    unknown = [n for n in truth if n not in names]
    if missing or unknown:
        raise ProblemError(
            f"true parameters for model {model.name!r} must name exactly {names}; "
            f"missing {missing}, unknown {unknown}")
    values = []
    for n in names:
        value = truth[n]
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) \
                or not math.isfinite(float(value)):
            raise ProblemError(f"true value of {n!r} must be a finite number, got {value!r}")
        values.append(float(value))
    return np.asarray(values)
