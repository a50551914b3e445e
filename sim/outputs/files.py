"""Writing results: atomic files, the streamed journey log, the manifest and the summary.

Every file is written atomically: the content goes to a hidden temporary file (its name
starts with ``.``) in the same directory, is flushed to disk, and is then renamed over
the final name. A reader therefore never sees a half-written file under a final name,
and pyarrow datasets ignore the hidden temporary files.

Layout of a result directory ``DIR``::

    DIR/manifest.json                      what was run, with what, when (see build_manifest)
    DIR/summary.json                       KPI means and confidence intervals
    DIR/journeys.parquet/rep-NNNN.parquet  journey log of replication NNNN (JOURNEY_SCHEMA)
    DIR/stocks.parquet/rep-NNNN.parquet    monthly stocks of replication NNNN (STOCK_COLUMNS)
    DIR/replications/rep-NNNN.json         KPIs of replication NNNN, written last
    DIR/precision.json                     with ``--reps auto``: the replication rule's decision

A replication counts only when it is whole: ``replications/rep-NNNN.json`` is written last,
so its presence (with both Parquet files) is what makes it complete; readers use only
complete replications (:func:`complete_reps`), and a resume removes the rest.

Ownership: ``manifest.json`` names the kind of directory (``run``, ``comparison``,
``sensitivity``) and, under ``owns``, the patterns of the files the program writes there
(:data:`OWNED`). Nothing else in a directory is ever removed or replaced: ``--overwrite``
removes only files matching the earlier manifest's patterns, and a directory whose files
no manifest of ours accounts for is refused (see :func:`scan_directory`). While a run
writes to a directory it holds ``DIR/.childsim.lock`` (:class:`DirectoryLock`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fnmatch
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.records import JOURNEY_SCHEMA

#: How the random streams of a replication derive from the base seed.
SEED_DERIVATION = "numpy SeedSequence(seed, spawn_key=(rep, stream))"

MANIFEST = "manifest.json"
SUMMARY = "summary.json"
JOURNEYS = "journeys.parquet"
STOCKS = "stocks.parquet"
REPLICATIONS = "replications"
#: The automatic replication rule's decision (``--reps auto``), see
#: :mod:`sim.experiments.replications`.
PRECISION = "precision.json"

#: Entries of a result directory that hold per-replication results.
RESULT_ENTRIES: tuple[str, ...] = (REPLICATIONS, JOURNEYS, STOCKS)
#: The lock file a run holds while it writes to a directory (see :class:`DirectoryLock`).
LOCK = ".childsim.lock"
#: Written by ``childsim report`` into the first directory it reads.
REPORT = "report.html"

#: Kinds of result directory, and the patterns (relative paths, ``*`` within one path
#: component) of the files the program writes in each. A manifest records its kind's
#: patterns under ``owns``; only files matching them are ever removed.
OWNED: dict[str, tuple[str, ...]] = {
    "run": (
        MANIFEST, SUMMARY, PRECISION, f"{JOURNEYS}/rep-*.parquet", f"{STOCKS}/rep-*.parquet",
        f"{REPLICATIONS}/rep-*.json", "validation.csv", "validation.png", "warmup.json",
        "warmup.csv", "warmup-*.png", "loops.png", REPORT, "eventlog.*",
    ),
    "comparison": (MANIFEST, "comparison.csv", "comparison.json", REPORT),
    "sensitivity": (
        MANIFEST, "points/point-*.json", "samples.csv", "sensitivity.csv", "sensitivity.json",
        "sensitivity-*.png", REPORT,
    ),
}

#: What the model calls with each batch of journey rows.
JourneySink = Callable[[pa.RecordBatch], None]


# -- layout ----------------------------------------------------------------------------------


def rep_stem(rep: int) -> str:
    """File stem of replication ``rep``: ``rep-0003``."""
    return f"rep-{int(rep):04d}"


def journey_path(out_dir: str | os.PathLike[str], rep: int) -> Path:
    """``DIR/journeys.parquet/rep-NNNN.parquet``."""
    return Path(out_dir) / JOURNEYS / f"{rep_stem(rep)}.parquet"


def stocks_path(out_dir: str | os.PathLike[str], rep: int) -> Path:
    """``DIR/stocks.parquet/rep-NNNN.parquet``."""
    return Path(out_dir) / STOCKS / f"{rep_stem(rep)}.parquet"


def replication_path(out_dir: str | os.PathLike[str], rep: int) -> Path:
    """``DIR/replications/rep-NNNN.json``: present only when replication ``rep`` is complete."""
    return Path(out_dir) / REPLICATIONS / f"{rep_stem(rep)}.json"


def rep_of(path: str | os.PathLike[str]) -> int | None:
    """Replication number from a ``rep-NNNN.*`` file name, or None for any other name."""
    name = Path(path).name
    if not name.startswith("rep-"):
        return None
    digits = name[4:].split(".", 1)[0]
    return int(digits) if digits.isdigit() else None


# -- atomic writes -----------------------------------------------------------------------------


def _fsync_dir(directory: Path) -> None:
    """Flush a directory entry to disk (best effort: not every platform allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temp_path(path: Path) -> Path:
    """A fresh hidden temporary name beside ``path`` (the file is created, empty)."""
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    # mkstemp makes the file private; results are ordinary files (permissions by umask)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(name, 0o666 & ~umask)
    return Path(name)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a hidden temporary path to write; on success it replaces ``path``.

    The parent directory is created if needed. If the body raises, the temporary file is
    removed and ``path`` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_path(final)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(final.parent)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)


def to_jsonable(obj: Any) -> Any:
    """A JSON-ready copy of ``obj``: NaN and infinities become None, numpy scalars and
    arrays become Python values, paths and dates become strings, tuples and sets lists."""
    if obj is None or isinstance(obj, bool | str):
        return obj
    if isinstance(obj, float | np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, int | np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, list | tuple | set | frozenset):
        items = sorted(obj, key=str) if isinstance(obj, set | frozenset) else obj
        return [to_jsonable(v) for v in items]
    if isinstance(obj, _dt.datetime | _dt.date):
        return obj.isoformat()
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if isinstance(obj, type):
        return obj.__name__
    return str(obj)


def dumps_json(obj: Any) -> str:
    """``obj`` as JSON text: indent 2, sorted keys, NaN as null, trailing newline."""
    return json.dumps(to_jsonable(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"


def atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as JSON (indent 2, sorted keys, NaN as null) to ``path`` atomically."""
    atomic_write_text(path, dumps_json(obj))


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file written by :func:`atomic_write_json`."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def atomic_write_parquet(path: str | os.PathLike[str],
                         table_or_df: pa.Table | pd.DataFrame) -> None:
    """Write an Arrow table or a DataFrame (index dropped) to a Parquet file atomically."""
    if isinstance(table_or_df, pd.DataFrame):
        table = pa.Table.from_pandas(table_or_df, preserve_index=False)
    elif isinstance(table_or_df, pa.Table):
        table = table_or_df
    elif isinstance(table_or_df, pa.RecordBatch):
        table = pa.Table.from_batches([table_or_df])
    else:
        raise TypeError(f"expected a pyarrow Table or a DataFrame, got {type(table_or_df)}")
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


class JourneyWriter:
    """Streams journey RecordBatches of one replication to ``DIR/journeys.parquet``.

    Each batch is written as it arrives (one row group per batch), so memory stays
    bounded. The data go to a hidden temporary file that :meth:`close` renames to
    ``rep-NNNN.parquet``; if the writer is closed because of an exception (or
    :meth:`abort` is called) the temporary file is removed and nothing is left behind.
    An instance is callable, so it can be passed directly as a journey sink.

    Examples
    --------
    >>> with JourneyWriter(out_dir, rep=3) as sink:       # doctest: +SKIP
    ...     simulate(scenario, rep=3, seed=1, warmup_years=2, years=5, journey_sink=sink)
    """

    def __init__(self, out_dir: str | os.PathLike[str], rep: int,
                 schema: pa.Schema = JOURNEY_SCHEMA) -> None:
        self.path = journey_path(out_dir, rep)
        self.schema = schema
        self.rows = 0
        self.batches = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp: Path | None = _temp_path(self.path)
        try:
            self._writer: pq.ParquetWriter | None = pq.ParquetWriter(self._tmp, schema)
        except BaseException:
            self._tmp.unlink(missing_ok=True)
            raise

    def write(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Append one batch (or table) of journey rows."""
        if self._writer is None:
            raise ValueError(f"JourneyWriter for {self.path} is closed")
        if not batch.schema.equals(self.schema):
            if "at_start" in self.schema.names and "at_start" not in batch.schema.names:
                # a log written without the mark (an earlier version, a test's fake)
                batch = batch.append_column("at_start", pa.array(
                    [False] * batch.num_rows, pa.bool_()))
            batch = batch.select(self.schema.names).cast(self.schema)
        if isinstance(batch, pa.RecordBatch):
            self._writer.write_batch(batch)
        else:
            self._writer.write_table(batch)
        self.rows += batch.num_rows
        self.batches += 1

    __call__ = write

    def close(self) -> Path:
        """Finish the file and give it its final name; returns the final path."""
        if self._writer is None:
            return self.path
        writer, tmp = self._writer, self._tmp
        self._writer = None
        self._tmp = None
        try:
            writer.close()
            assert tmp is not None
            _fsync_file(tmp)
            os.replace(tmp, self.path)
        except BaseException:
            if tmp is not None:
                tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.path.parent)
        return self.path

    def abort(self) -> None:
        """Discard everything written so far: no file is left under either name."""
        writer, tmp = self._writer, self._tmp
        self._writer = None
        self._tmp = None
        if writer is not None:
            with contextlib.suppress(Exception):
                writer.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)

    @property
    def closed(self) -> bool:
        return self._writer is None

    def __enter__(self) -> JourneyWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:  # an abandoned writer leaves no temporary file
        with contextlib.suppress(Exception):
            self.abort()


def remove_temp_files(directory: str | os.PathLike[str]) -> None:
    """Remove hidden temporary files (``.*.tmp``) left in ``directory`` by a killed run."""
    d = Path(directory)
    if not d.is_dir() or d.is_symlink():
        return
    for p in d.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            p.unlink()


# -- what a directory holds, and whose it is ---------------------------------------------------


def is_scratch(rel: str) -> bool:
    """Whether a relative path is the program's scratch: the lock or a hidden temporary
    file of an atomic write (``.NAME.XXXX.tmp``)."""
    name = rel.rsplit("/", 1)[-1]
    return rel == LOCK or (name.startswith(".") and name.endswith(".tmp"))


def matches(rel: str, patterns: Sequence[str]) -> bool:
    """Whether relative path ``rel`` (``/``-separated) matches one of ``patterns``, component
    by component (``*`` never crosses a ``/``)."""
    parts = rel.split("/")
    for pattern in patterns:
        pparts = pattern.split("/")
        if len(pparts) == len(parts) and all(
                fnmatch.fnmatchcase(a, b) for a, b in zip(parts, pparts, strict=True)):
            return True
    return False


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of a directory if this program wrote it, else None.

    A manifest is ours when it is a JSON object recording the seed derivation (every
    manifest this program writes does); a file of that name from anywhere else is not.
    """
    path = Path(directory) / MANIFEST
    if path.is_symlink() or not path.is_file():
        return None
    try:
        data = read_json(path)
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("seed_derivation") != SEED_DERIVATION:
        return None
    return data


def manifest_kind(manifest: Mapping[str, Any]) -> str:
    """The kind of directory a manifest describes (``run`` when not recorded)."""
    kind = manifest.get("kind", "run")
    return kind if isinstance(kind, str) and kind in OWNED else "run"


def owned_patterns(manifest: Mapping[str, Any]) -> tuple[str, ...]:
    """The patterns of the files a manifest's directory owns.

    The patterns recorded under ``owns``, kept only when they are among the known patterns
    of the manifest's kind (so an edited manifest cannot claim other files); a manifest
    written before ``owns`` existed owns its kind's patterns.
    """
    known = OWNED[manifest_kind(manifest)]
    listed = manifest.get("owns")
    if not isinstance(listed, list):
        return known
    return tuple(p for p in known if p in listed)


@dataclass
class DirectoryState:
    """What a directory holds (see :func:`scan_directory`). Paths are relative, ``/``-separated.

    Attributes
    ----------
    exists : bool
        Whether the directory exists.
    manifest : dict or None
        Its manifest, when this program wrote one.
    owned : list of str
        Files matching the manifest's patterns (none without a manifest of ours).
    foreign : list of str
        Every other file, and every symbolic link (never followed, never removed).
    scratch : list of str
        The lock and hidden temporary files of atomic writes.
    children : list of str
        Subdirectories skipped because they are result directories of their own.
    """

    exists: bool
    manifest: dict[str, Any] | None = None
    owned: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    scratch: list[str] = field(default_factory=list)
    children: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Nothing but scratch (and empty folders): any run may start here."""
        return not (self.owned or self.foreign or self.children)

    @property
    def results(self) -> list[str]:
        """Owned files other than the manifest: what a run would lose."""
        return [r for r in self.owned if r != MANIFEST]


def scan_directory(directory: str | os.PathLike[str], *,
                   skip_children: bool = False) -> DirectoryState:
    """Classify every file below ``directory`` as owned, foreign or scratch (read only).

    With ``skip_children``, immediate subdirectories holding a manifest of ours (the
    scenario directories of a comparison) are listed as ``children`` and not entered.
    Raises :class:`NotADirectoryError` when ``directory`` exists and is not a directory.
    """
    root = Path(directory)
    if not root.exists() and not root.is_symlink():
        return DirectoryState(exists=False)
    if root.is_symlink() or not root.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "exists and is not a directory", str(root))
    manifest = read_manifest(root)
    patterns = owned_patterns(manifest) if manifest is not None else ()
    state = DirectoryState(exists=True, manifest=manifest)

    def walk(folder: Path, rel: str) -> None:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            r = f"{rel}{entry.name}"
            if entry.is_symlink():
                state.foreign.append(r)
            elif entry.is_dir():
                if skip_children and not rel and read_manifest(entry.path) is not None:
                    state.children.append(r)
                else:
                    walk(Path(entry.path), r + "/")
            elif is_scratch(r):
                state.scratch.append(r)
            elif matches(r, patterns):
                state.owned.append(r)
            else:
                state.foreign.append(r)

    walk(root, "")
    return state


def remove_owned(directory: str | os.PathLike[str], state: DirectoryState) -> list[str]:
    """Remove the owned files and the scratch of a scanned directory; returns what was removed.

    Only regular files listed in ``state.owned`` or ``state.scratch`` are removed (the lock
    is left to its holder); symbolic links and every other file stay.
    """
    root = Path(directory)
    removed = []
    for rel in [*state.owned, *state.scratch]:
        if rel == LOCK:
            continue
        path = root / rel
        if path.is_symlink() or not path.is_file():
            continue
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(rel)
    return removed


class DirectoryBusyError(OSError):
    """Another process holds the lock of a result directory."""


class DirectoryLock:
    """An exclusive lock on a result directory, held while a run writes there.

    ``fcntl.flock`` on ``DIR/.childsim.lock`` (not the ``filelock`` package: the lock file
    is removed again on release, so a directory is left as it was found, and removal
    needs the check below, which ``filelock`` does not make). A second process trying to
    take it fails at once with :class:`DirectoryBusyError` naming the holder's process id.
    The kernel releases the lock when its holder dies, however it dies. After locking,
    the file is checked to be still the one at ``DIR/.childsim.lock`` (a holder may have
    removed it while this process waited to lock it); if not, the lock is taken again.

    The lock is re-entrant within a process (nested experiments on one directory share
    it). On platforms without ``fcntl`` it does nothing.
    """

    _held: dict[str, tuple[int, int]] = {}  # resolved directory -> (fd, depth)
    _guard = threading.Lock()

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOCK
        self._key: str | None = None

    def acquire(self) -> DirectoryLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not on POSIX
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        key = os.path.realpath(self.directory)
        with self._guard:
            if key in self._held:
                fd, depth = self._held[key]
                self._held[key] = (fd, depth + 1)
                self._key = key
                return self
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError as exc:
                    holder = _read_pid(fd)
                    os.close(fd)
                    if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                        raise
                    who = f" (process {holder})" if holder else ""
                    raise DirectoryBusyError(
                        errno.EBUSY, f"another childsim run{who} is writing there; wait "
                        "for it to finish or use another --out", str(self.directory)) from None
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(self.path))
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)  # removed by its previous holder meanwhile: lock the new one
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self._held[key] = (fd, 1)
            self._key = key
        return self

    def release(self) -> None:
        key, self._key = self._key, None
        if key is None:
            return
        with self._guard:
            fd, depth = self._held[key]
            if depth > 1:
                self._held[key] = (fd, depth - 1)
                return
            del self._held[key]
            with contextlib.suppress(OSError):
                os.unlink(self.path)
            os.close(fd)

    def __enter__(self) -> DirectoryLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def rep_files(out_dir: str | os.PathLike[str], entry: str,
              reps: Sequence[int] | set[int]) -> list[Path]:
    """The ``rep-NNNN.parquet`` files of ``entry`` (``journeys.parquet`` or
    ``stocks.parquet``) of the replications ``reps`` that exist, in replication order."""
    folder = Path(out_dir) / entry
    paths = [folder / f"{rep_stem(r)}.parquet" for r in sorted(reps)]
    return [p for p in paths if p.is_file()]


# -- manifest and summary ----------------------------------------------------------------------


def package_version() -> str:
    """Installed version of the package (or a fallback when running from a source tree)."""
    from sim import __version__

    return __version__


def _git(args: Sequence[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


#: Written into the package when a wheel or sdist is built (``setup.py``): the source
#: commit and whether the checkout had uncommitted changes, for installs that are not a
#: git checkout. Not in the repository (git-ignored).
BUILD_INFO = Path(__file__).resolve().parent.parent / "_build_info.json"


def build_info(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The build information written into an installed package (:data:`BUILD_INFO`), or
    None when there is none (a source checkout, an editable install) or it is unreadable."""
    try:
        data = json.loads(Path(path or BUILD_INFO).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def git_info(source_dir: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """Source commit of the running code: ``{"commit", "dirty", "source"}``.

    From git when the package is imported from a checkout (``source`` ``"checkout"``):
    ``source_dir`` (default: the parent directory of the ``sim`` package) counts as one
    only when it is the top level of a git working tree, so an installed copy in a
    virtual environment inside some repository does not pick up that repository's
    commit. Otherwise, with ``source_dir`` not given, from the build information written
    into the package when it was built (``source`` ``"build"``, :func:`build_info`).
    Anything that fails gives None.
    """
    default = source_dir is None
    root = Path(__file__).resolve().parents[2] if default else Path(source_dir)
    top = _git(["rev-parse", "--show-toplevel"], root)
    if top is not None and Path(top.strip()).resolve() == root.resolve():
        head = _git(["rev-parse", "HEAD"], root)
        status = _git(["status", "--porcelain"], root)
        return {
            "commit": head.strip() if head else None,
            "dirty": None if status is None else bool(status.strip()),
            "source": "checkout",
        }
    info = build_info() if default else None
    if info and info.get("commit"):
        return {"commit": str(info["commit"]), "dirty": info.get("dirty"), "source": "build"}
    return {"commit": None, "dirty": None, "source": None}


def _iso(t: _dt.datetime | str | None) -> str | None:
    if t is None or isinstance(t, str):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.UTC)
    return t.astimezone(_dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def utc_now() -> _dt.datetime:
    """The current time, in UTC."""
    return _dt.datetime.now(_dt.UTC)


#: Distributions whose versions a manifest records: those that compute results (the
#: model, KPIs, statistics, sensitivity indices, files), draw figures or the report, or
#: run replications. Their versions are read from the installed metadata.
RESULT_DEPENDENCIES: tuple[str, ...] = (
    "numpy", "scipy", "simpy", "pandas", "pyarrow", "SALib", "matplotlib", "jinja2",
    "dask", "distributed", "tqdm", "pm4py",
)


def _module_version(name: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def software_versions() -> dict[str, Any]:
    """Versions of the package, Python, every :data:`RESULT_DEPENDENCIES` (None when not
    installed) and the platform, as a manifest records them."""
    return {
        "childsim": package_version(),
        "python": sys.version.split()[0],
        **{name: _module_version(name) for name in RESULT_DEPENDENCIES},
        "platform": platform.platform(),
    }


def build_manifest(
    scenario: Any,
    *,
    seed: int,
    reps: int,
    years: float,
    warmup: float,
    started: _dt.datetime | str | None,
    finished: _dt.datetime | str | None,
    command: Sequence[str] | str | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """What a result directory holds, enough to reproduce it, and which files are ours.

    Keys: ``scenario`` (name, description, digest, files, provenance and ``resolved``: the
    full parameter set), ``seed``, ``seed_derivation``, ``reps``, ``years`` (measured),
    ``warmup_years``, ``started`` and ``finished`` (ISO 8601 UTC, ``finished`` null while
    running), ``command``, ``software`` (:func:`software_versions`: the package, Python,
    each dependency that affects results, and the platform) and ``git`` (:func:`git_info`:
    ``commit`` and ``dirty`` of the source, from the checkout or from the build of an
    installed package, and ``source``), ``kind`` (``run``) and ``owns`` (the patterns of the
    files the program writes there, :data:`OWNED`).
    """
    files = [os.fspath(f) for f in (getattr(scenario, "files", None) or ())]
    if command is not None and not isinstance(command, str):
        command = [str(c) for c in command]
    return to_jsonable({
        "scenario": {
            "name": scenario.name,
            "description": getattr(scenario, "description", ""),
            "digest": scenario.digest(),
            "files": files,
            "provenance": getattr(scenario, "provenance", None),
            "resolved": scenario.to_nested(),
        },
        "seed": int(seed),
        "seed_derivation": SEED_DERIVATION,
        "reps": int(reps),
        "years": float(years),
        "warmup_years": float(warmup),
        "started": _iso(started),
        "finished": _iso(finished),
        "command": command,
        "software": software_versions(),
        "git": git_info(),
        "kind": "run",
        "owns": list(OWNED["run"]),
        **dict(extra or {}),
    })


def _unit_of(meta: Any) -> str | None:
    if meta is None:
        return None
    if isinstance(meta, str):
        return meta
    if isinstance(meta, Mapping):
        return meta.get("unit")
    return getattr(meta, "unit", None)


def summary_dict(summary_df: pd.DataFrame,
                 kpis_meta: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """``{kpi: {mean, half_width, ci_low, ci_high, n, unit}}`` from a summary DataFrame.

    ``kpis_meta`` maps KPI names to objects with a ``unit`` attribute (``sim.outputs.kpis.KPIS``),
    to dicts with a ``unit`` key, or directly to unit strings.
    """
    meta = kpis_meta or {}
    out: dict[str, dict[str, Any]] = {}
    for name, row in summary_df.iterrows():
        out[str(name)] = {
            "mean": float(row["mean"]),
            "half_width": float(row["half_width"]),
            "ci_low": float(row["ci_low"]),
            "ci_high": float(row["ci_high"]),
            "n": int(row["n"]),
            "unit": _unit_of(meta.get(str(name))),
        }
    return out


def write_summary(path: str | os.PathLike[str], summary_df: pd.DataFrame,
                  kpis_meta: Mapping[str, Any] | None = None) -> None:
    """Write ``summary.json``: ``{kpi: {mean, half_width, ci_low, ci_high, n, unit}}``."""
    atomic_write_json(path, summary_dict(summary_df, kpis_meta))


__all__ = [
    "JOURNEYS",
    "LOCK",
    "MANIFEST",
    "OWNED",
    "REPORT",
    "PRECISION",
    "REPLICATIONS",
    "RESULT_ENTRIES",
    "SEED_DERIVATION",
    "STOCKS",
    "SUMMARY",
    "JourneySink",
    "JourneyWriter",
    "atomic_path",
    "atomic_write_json",
    "atomic_write_parquet",
    "atomic_write_text",
    "DirectoryBusyError",
    "DirectoryLock",
    "DirectoryState",
    "build_manifest",
    "is_scratch",
    "manifest_kind",
    "matches",
    "owned_patterns",
    "read_manifest",
    "remove_owned",
    "rep_files",
    "scan_directory",
    "dumps_json",
    "git_info",
    "build_info",
    "software_versions",
    "BUILD_INFO",
    "RESULT_DEPENDENCIES",
    "journey_path",
    "read_json",
    "remove_temp_files",
    "rep_of",
    "rep_stem",
    "replication_path",
    "stocks_path",
    "summary_dict",
    "to_jsonable",
    "utc_now",
    "write_summary",
]
