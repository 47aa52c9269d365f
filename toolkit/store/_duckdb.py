"""The workspace store: one embedded DuckDB file holding many patients.

* Tables are created from :mod:`toolkit.schema` (one source of truth).
* Every uploaded file's bytes are kept in ``raw_files`` by SHA-256, so any file can
  be re-read after a reader improves.
* One ingest command is one transaction: either every file of it is stored, or —
  when one is refused — nothing is.
* Natural keys (see :mod:`toolkit.ingest._normalise`) make re-uploads and
  overlapping exports add no duplicates; such rows are counted as ``duplicate``.
* DuckDB lets one process write a file at a time. A second process waits up to
  ``wait_s`` seconds for the lock and then gets :class:`~toolkit.exceptions.StoreBusyError`
  — never a corrupted file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from toolkit.exceptions import OptionError, Reason, StoreBusyError, StoreError
from toolkit.ingest._base import ReadOptions, ReadResult
from toolkit.ingest._memory import release_duckdb_memory
from toolkit.ingest._normalise import Normalised, normalise
from toolkit.ingest._read import attach_raw, read_bytes
from toolkit.schema import TABLES, ddl, polars_schema
from toolkit.store._paths import DEFAULT_STORE, default_store_path, local_zone

__all__ = ["DEFAULT_STORE", "IngestReport", "PreparedUpload", "Store", "default_store_path"]

_ROW_TABLE = {
    "workout": ("sets", "set_id"),
    "pain": ("pain_entries", "pain_id"),
    "measures": ("outcome_measures", "measure_id"),
}
# Values compared when a row's key is already stored: a difference means the entry was
# edited in the app since the earlier export. The stored row is kept and the user told.
_VALUE_COLUMNS = {
    "workout": ("reps", "weight_kg", "duration_s", "distance_m", "set_type", "rpe"),
    "pain": ("pain_nrs",),
    "measures": ("score",),
}


def _version() -> str:
    """The toolkit's version (its ``__version__``, which a test keeps equal to the
    installed package's: reading the package metadata costs 0.1 s of start-up)."""
    from toolkit import __version__

    return __version__


@dataclass
class IngestReport:
    """What happened to one file. ``rows_read == rows_accepted + rows_duplicate +
    rows_quarantined`` always holds.

    ``already_ingested`` is True when these exact bytes had been ingested for the
    patient before (a re-upload).
    """

    file: str
    format: str
    layout: str
    kind: str
    patient_id: str
    rows_read: int
    rows_accepted: int
    rows_duplicate: int
    rows_quarantined: int
    warnings: list[str]
    assumptions: dict[str, str]
    quarantined_by_reason: dict[str, int]
    content_sha256: str
    upload_id: str
    already_ingested: bool = False
    first_date: str | None = None
    last_date: str | None = None
    dry_run: bool = False
    _frames: Normalised | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (the keys of ``recovery ingest --json``)."""
        d = asdict(self)
        d.pop("_frames")
        return d

    @property
    def quarantine(self) -> pl.DataFrame:
        """The quarantined rows of this file (store ``quarantine`` columns)."""
        assert self._frames is not None
        return self._frames.quarantine


class Store:
    """A DuckDB workspace of patients, uploads and canonical tables.

    Parameters
    ----------
    path
        The DuckDB file (created on first write). Default: :func:`default_store_path`.
    wait_s
        How long to wait for another process's write lock before
        :class:`~toolkit.exceptions.StoreBusyError`.

    Examples
    --------
    >>> store = Store(tmp_path / "w.duckdb")  # doctest: +SKIP
    >>> reports = store.ingest(["strong.csv"], patient_id="p1")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None, *, wait_s: float = 10.0) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.wait_s = wait_s

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    # -- connections ------------------------------------------------------------------
    @contextlib.contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, waiting for another process's lock up to ``wait_s`` seconds."""
        if read_only and not self.path.exists():
            raise StoreError(f"store {self.path} does not exist yet; ingest a file first")
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                con.execute("SET TimeZone = 'UTC'")
                # DuckDB draws its own progress bar on the terminal for queries over 2 s,
                # into the CLI's progress output and the dashboard's log: the commands
                # report progress themselves. Inside Jupyter DuckDB refuses to change the
                # setting without ipywidgets (its bar there is a widget): left as it is.
                with contextlib.suppress(duckdb.Error):
                    con.execute("SET enable_progress_bar = false")
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise StoreError(f"cannot open store {self.path}: {exc}") from None
                if time.monotonic() >= deadline:
                    raise StoreBusyError(
                        f"store busy: another recovery process is using {self.path}; "
                        "try again when it has finished"
                    ) from None
                time.sleep(0.2)
            except duckdb.Error as exc:
                raise StoreError(f"cannot open store {self.path}: {exc}") from None
        try:
            if not read_only:
                for name in TABLES:
                    con.execute(ddl(name))
            yield con
        finally:
            con.close()

    def exists(self) -> bool:
        """True when the store file exists."""
        return self.path.exists()

    @property
    def catalogue_path(self) -> Path:
        """The workspace's own exercise catalogue: ``exercise_catalogue.csv`` beside the store.

        When it exists it replaces the packaged catalogue for every ingest and
        re-process of this store (the dashboard's data-quality page writes it).
        """
        return self.path.parent / "exercise_catalogue.csv"

    def catalogue(self) -> pl.DataFrame | None:
        """The workspace's catalogue (checked) when there is one, else None (packaged)."""
        from toolkit.ingest.catalogue import load_catalogue

        return load_catalogue(self.catalogue_path) if self.catalogue_path.is_file() else None

    # -- patients ---------------------------------------------------------------------
    def upsert_patient(
        self,
        patient_id: str,
        *,
        name: str | None = None,
        condition: str | None = None,
        surgery_date: dt.date | None = None,
        programme_start_date: dt.date | None = None,
        planned_sessions_per_week: float | None = None,
        bodyweight_kg: float | None = None,
    ) -> dict[str, Any]:
        """Create a patient or update the given fields; returns the record."""
        _check_patient_id(patient_id)
        if bodyweight_kg is not None and not 0 < bodyweight_kg <= 400:
            raise OptionError(f"bodyweight_kg must be in (0, 400], got {bodyweight_kg}")
        if planned_sessions_per_week is not None and not 0 <= planned_sessions_per_week <= 21:
            raise OptionError(
                f"planned_sessions_per_week must be in [0, 21], got {planned_sessions_per_week}"
            )
        fields = {
            "name": name,
            "condition": condition,
            "surgery_date": surgery_date,
            "programme_start_date": programme_start_date,
            "planned_sessions_per_week": planned_sessions_per_week,
            "bodyweight_kg": bodyweight_kg,
        }
        with self.connect() as con:
            con.begin()
            _ensure_patient(con, patient_id)
            for col, value in fields.items():
                if value is not None:
                    con.execute(
                        f"UPDATE patients SET {col} = ?, updated_at_utc = now() WHERE patient_id = ?",
                        [value, patient_id],
                    )
            con.commit()
            row = con.sql("SELECT * FROM patients WHERE patient_id = ?", params=[patient_id]).pl()
        return row.to_dicts()[0]

    def patients(self) -> pl.DataFrame:
        """Every patient with counts and the date range of their data."""
        if not self.exists():
            return pl.DataFrame(schema=polars_schema(TABLES["patients"]))
        with self.connect(read_only=True) as con:
            # One grouped scan per table, joined: the correlated form (a subquery per patient
            # and column) took 3-4x as long, and the sidebar asks on every page.
            return con.sql(
                """
                WITH s AS (SELECT patient_id, count(*) AS n, min(local_date) AS lo, max(local_date) AS hi
                           FROM sessions GROUP BY patient_id),
                     st AS (SELECT patient_id, count(*) AS n FROM sets GROUP BY patient_id),
                     e AS (SELECT patient_id, count(*) AS n, min(local_date) AS lo, max(local_date) AS hi
                           FROM pain_entries GROUP BY patient_id),
                     m AS (SELECT patient_id, count(*) AS n FROM outcome_measures GROUP BY patient_id),
                     q AS (SELECT patient_id, count(*) AS n FROM quarantine WHERE severity = 'error'
                           GROUP BY patient_id),
                     u AS (SELECT patient_id, count(*) AS n FROM uploads GROUP BY patient_id)
                SELECT p.*,
                  coalesce(s.n, 0) AS sessions, coalesce(st.n, 0) AS sets, coalesce(e.n, 0) AS pain_entries,
                  coalesce(m.n, 0) AS outcome_measures, coalesce(q.n, 0) AS quarantined_errors,
                  coalesce(u.n, 0) AS uploads,
                  least(s.lo, e.lo) AS first_date, greatest(s.hi, e.hi) AS last_date
                FROM patients p
                  LEFT JOIN s USING (patient_id) LEFT JOIN st USING (patient_id)
                  LEFT JOIN e USING (patient_id) LEFT JOIN m USING (patient_id)
                  LEFT JOIN q USING (patient_id) LEFT JOIN u USING (patient_id)
                ORDER BY p.patient_id
                """
            ).pl()

    # -- reading tables ---------------------------------------------------------------
    def table(self, name: str, *, patient_id: str | None = None) -> pl.DataFrame:
        """A canonical table (optionally one patient's rows) as a polars frame."""
        if name not in TABLES or name == "raw_files":
            raise OptionError(
                f"table must be one of {', '.join(n for n in TABLES if n != 'raw_files')}; got {name!r}"
            )
        schema = polars_schema(TABLES[name])
        if not self.exists():
            return pl.DataFrame(schema=schema)
        with self.connect(read_only=True) as con:
            if patient_id is None:
                frame = con.sql(f"SELECT * FROM {name}").pl()
            else:
                frame = con.sql(f"SELECT * FROM {name} WHERE patient_id = ?", params=[patient_id]).pl()
        return frame.cast(schema) if frame.height else pl.DataFrame(schema=schema)  # type: ignore[arg-type]

    def raw_bytes(self, content_sha256: str) -> bytes:
        """The exact bytes of an uploaded file."""
        with self.connect(read_only=True) as con:
            rows = con.execute(
                "SELECT content FROM raw_files WHERE content_sha256 = ?", [content_sha256]
            ).fetchall()
        if not rows:
            raise StoreError(f"no raw file with hash {content_sha256}")
        return bytes(rows[0][0])

    def reprocess(self, patient_id: str, *, catalogue: pl.DataFrame | None = None) -> list[IngestReport]:
        """Re-read every upload of a patient from its kept raw bytes with today's readers
        and catalogue, replacing the patient's canonical rows, in one transaction.

        Uploads are replayed in their original order with the options they were read
        with, so keys, de-duplication and accounting come out as a fresh ingest would.
        """
        with self.connect(read_only=True) as con:
            uploads = con.execute(
                "SELECT u.file_name, u.options_json, r.content FROM uploads u "
                "JOIN raw_files r USING (content_sha256) WHERE u.patient_id = ? "
                "ORDER BY u.ingested_at_utc, u.upload_id",
                [patient_id],
            ).fetchall()
        if not uploads:
            raise StoreError(f"patient {patient_id!r} has no uploads to re-process")
        if catalogue is None:
            catalogue = self.catalogue()
        prepared = []
        for file_name, options_json, content in uploads:
            opts = json.loads(options_json)
            opts["column_map"] = opts.get("column_map") or {}
            prepared.extend(
                self._prepare([(file_name, bytes(content))], patient_id, ReadOptions(**opts), catalogue, None)
            )
        with self.connect() as con:
            con.begin()
            try:
                for name in (
                    "sets",
                    "sessions",
                    "pain_entries",
                    "outcome_measures",
                    "quarantine",
                    "uploads",
                ):
                    con.execute(f"DELETE FROM {name} WHERE patient_id = ?", [patient_id])
                size = sum(len(p.data) for p in prepared)
                reports = [self._write(con, p, patient_id, p.options, False) for p in prepared]
                _commit(con, size)
            except BaseException:
                con.rollback()
                raise
        return reports

    # -- ingest -----------------------------------------------------------------------
    def prepare(
        self,
        files: Sequence[str | Path | tuple[str, bytes]],
        *,
        patient_id: str,
        options: ReadOptions | None = None,
        catalogue: pl.DataFrame | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> PreparedUpload:
        """Read and normalise files for one patient without touching the store.

        No lock is taken and nothing is written. Pass the result to :meth:`ingest`:
        with ``dry_run=True`` as often as needed (a check against the store as it is
        then), and once without (the write). Reading options and catalogue are fixed
        here; prepare again when they change.

        Parameters
        ----------
        files, patient_id, options, catalogue, progress
            As for :meth:`ingest` (``catalogue`` None: the workspace's, else the packaged one).

        Raises
        ------
        IngestError
            A file was refused whole.

        Examples
        --------
        >>> upload = store.prepare(["strong.csv"], patient_id="p1")  # doctest: +SKIP
        >>> store.ingest(upload, patient_id="p1", dry_run=True)  # the check  # doctest: +SKIP
        >>> store.ingest(upload, patient_id="p1")  # the write  # doctest: +SKIP
        """
        _check_patient_id(patient_id)
        if catalogue is None:
            catalogue = self.catalogue()
        options = options or ReadOptions()
        prepared = self._prepare(files, patient_id, options, catalogue, progress)
        return PreparedUpload(patient_id, options, prepared)

    def ingest(
        self,
        files: Sequence[str | Path | tuple[str, bytes]] | PreparedUpload | Sequence[PreparedUpload],
        *,
        patient_id: str,
        options: ReadOptions | None = None,
        dry_run: bool = False,
        catalogue: pl.DataFrame | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> list[IngestReport]:
        """Read, normalise and store files for one patient, in one transaction.

        Parameters
        ----------
        files
            Paths, or ``(name, bytes)`` pairs (uploads from the dashboard); or what
            :meth:`prepare` returned (one :class:`PreparedUpload` or a list of them, for
            this ``patient_id``), which is not read again.
        patient_id
            Created when new.
        options
            Reading options (format, weight unit, time zone, ...). Not with a prepared
            upload (its options were fixed by :meth:`prepare`).
        dry_run
            Read and account for everything, compare with the store, write nothing.
            A prepared upload can be checked any number of times.
        catalogue
            The exercise catalogue (default: the workspace's, else the packaged one). Not
            with a prepared upload.
        progress
            Called with each file's name as it starts (for progress bars): as it is read,
            or — for a prepared upload — as it is stored.

        Returns
        -------
        list of IngestReport
            One per file, in order. Duplicates are always counted against the store
            at this call (inside the write's transaction), never taken from a check.

        Raises
        ------
        IngestError
            A file was refused whole; nothing of this call was written.
        StoreBusyError
            Another process held the store longer than ``wait_s`` (a prepared upload
            can then be written later).
        StoreError
            A prepared upload was written (or its write started) before: its rows are gone.
        """
        _check_patient_id(patient_id)
        items: list[Any] = [files] if isinstance(files, PreparedUpload) else list(files)
        uploads: list[PreparedUpload] = [u for u in items if isinstance(u, PreparedUpload)]
        if uploads:
            if len(uploads) != len(items):
                raise OptionError("pass either files or prepared uploads to Store.ingest, not both")
            if options is not None or catalogue is not None:
                raise OptionError(
                    "options and catalogue are fixed when an upload is prepared; pass them to Store.prepare"
                )
            if len({id(u) for u in uploads}) != len(uploads):
                raise OptionError("the same prepared upload was passed twice")
            for u in uploads:
                u._check_usable(patient_id)
        else:
            upload = self.prepare(
                items, patient_id=patient_id, options=options, catalogue=catalogue, progress=progress
            )
            uploads = [upload]
            progress = None  # called as each file was read
        prepared = [p for u in uploads for p in u._files]
        if dry_run and not self.exists():
            return [_report(p, duplicates=0, already=False, dry_run=True) for p in prepared]
        with self.connect(read_only=dry_run) as con:
            reports = []
            size = sum(len(p.data) for p in prepared)  # before the bytes are freed
            if not dry_run:
                for u in uploads:  # from here on the rows and bytes are freed as they are written
                    u._consumed = True
                con.begin()
            try:
                for p in prepared:
                    if progress is not None:
                        progress(p.name)
                    reports.append(self._write(con, p, patient_id, p.options, dry_run))
                if not dry_run:
                    _commit(con, size)
            except BaseException:
                if not dry_run:
                    con.rollback()
                raise
        return reports

    @staticmethod
    def _prepare(
        files: Sequence[str | Path | tuple[str, bytes]],
        patient_id: str,
        options: ReadOptions,
        catalogue: pl.DataFrame | None,
        progress: Callable[[str], None] | None,
    ) -> list[_Prepared]:
        """Read and normalise every file before the store is touched (no lock held)."""
        tz = options.tz or local_zone()
        prepared = []
        for item in files:
            name, data = _load(item)
            if progress is not None:
                progress(name)
            # hashlib releases the GIL: hash the bytes on another core while reading them.
            sha = _Sha256(data)
            result, table = read_bytes(data, name, options)
            # The raw text of the quarantined rows is all that is needed of the parsed
            # table: free it before normalising (a large file's strings are big).
            raw = attach_raw(result, table).select("_line", "column", "reason", "message", "raw")
            del table
            upload_id = uuid.uuid4().hex
            frames = normalise(
                result,
                patient_id=patient_id,
                upload_id=upload_id,
                tz=tz,
                day_start_hour=options.day_start_hour,
                catalogue=catalogue,
            )
            result.data = result.data.clear()  # normalised now; keep only its description
            added = frames.quarantine.with_columns(pl.lit(None, dtype=pl.String).alias("raw"))
            frames.quarantine = _quarantine_rows(
                pl.concat([raw, added.cast(raw.schema)]),  # type: ignore[arg-type]
                upload_id=upload_id,
                patient_id=patient_id,
                file_name=Path(name).name,
            )
            assumptions = dict(result.assumptions)
            if options.tz is None:
                assumptions.setdefault("tz", f"{tz} (this machine's zone; pass --tz to change)")
            else:
                assumptions.setdefault("tz", tz)
            prepared.append(
                _Prepared(
                    name,
                    data,
                    sha.hexdigest(),
                    upload_id,
                    result,
                    frames,
                    assumptions,
                    tz,
                    options,
                )
            )
        return prepared

    def _write(
        self,
        con: duckdb.DuckDBPyConnection,
        p: _Prepared,
        patient_id: str,
        options: ReadOptions,
        dry_run: bool,
    ) -> IngestReport:
        name, data, sha, upload_id, result, frames, assumptions, tz = (
            p.name,
            p.data,
            p.sha,
            p.upload_id,
            p.result,
            p.frames,
            p.assumptions,
            p.tz,
        )
        table_name, key = _ROW_TABLE[result.kind]
        rows = frames.rows
        # Queried as a relation, never registered: a view registered inside the
        # transaction keeps its Arrow data (and so the rows) alive until the commit.
        incoming = con.from_arrow(_arrow(rows))
        # Every natural key hashes the patient id, so a duplicate can only be one of this
        # patient's rows: only those are looked at (a clinic's store holds millions of
        # other rows), and for a patient with none stored there is nothing to look for.
        own = f"t.patient_id = {_literal(patient_id)}"
        stored = con.execute(f"SELECT EXISTS (SELECT 1 FROM {table_name} t WHERE {own})").fetchall()[0][0]
        dup_count = (
            incoming.query(
                "incoming",
                f"SELECT count(*) FROM incoming i WHERE EXISTS "
                f"(SELECT 1 FROM {table_name} t WHERE {own} AND t.{key} = i.{key})",
            ).fetchall()[0][0]
            if stored
            else 0
        )
        already = bool(
            con.execute(
                "SELECT count(*) FROM uploads WHERE content_sha256 = ? AND patient_id = ?",
                [sha, patient_id],
            ).fetchall()[0][0]
        )
        differs = " OR ".join(f"t.{c} IS DISTINCT FROM i.{c}" for c in _VALUE_COLUMNS[result.kind])
        changed = (
            incoming.query(
                "incoming",
                f"SELECT count(*) FROM incoming i JOIN {table_name} t ON {own} AND t.{key} = i.{key} "
                f"WHERE {differs}",
            ).fetchall()[0][0]
            if dup_count
            else 0
        )
        report = _report(p, duplicates=int(dup_count), already=already, dry_run=dry_run)
        if changed:
            noun = {"workout": "sets", "pain": "pain entries", "measures": "scores"}[result.kind]
            report.warnings.append(
                f"{changed} {noun} of this file are already stored with different values (edited in "
                "the app since the earlier export?); the stored values were kept"
            )
        if dry_run:
            return report
        _ensure_patient(con, patient_id)
        size = len(data)
        con.execute(
            "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?, now(), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                upload_id,
                patient_id,
                Path(name).name,
                sha,
                size,
                result.format,
                result.layout,
                result.kind,
                report.rows_read,
                report.rows_accepted,
                report.rows_duplicate,
                report.rows_quarantined,
                json.dumps(report.warnings),
                json.dumps(assumptions),
                json.dumps({**asdict(options), "tz": tz}),
                tz,
                options.day_start_hour,
                _version(),
            ],
        )
        if dup_count:
            incoming.query(
                "incoming",
                f"INSERT INTO {table_name} SELECT * FROM incoming i WHERE NOT EXISTS "
                f"(SELECT 1 FROM {table_name} t WHERE {own} AND t.{key} = i.{key})",
            )
        else:  # no key of this file is stored yet (counted above): no anti-join needed
            incoming.query("incoming", f"INSERT INTO {table_name} SELECT * FROM incoming")
        del incoming
        release_duckdb_memory()
        if frames.sessions is not None:
            con.from_arrow(_arrow(frames.sessions)).query(
                "incoming",
                "INSERT INTO sessions SELECT * FROM incoming i WHERE NOT EXISTS "
                f"(SELECT 1 FROM sessions t WHERE {own} AND t.session_id = i.session_id)",
            )
        if frames.quarantine.height:
            con.from_arrow(_arrow(frames.quarantine)).query(
                "incoming", "INSERT INTO quarantine SELECT * FROM incoming"
            )
        # Written: free this file's rows before its bytes go in (inserting a blob holds
        # about two more copies of it for a moment); the report keeps its quarantine.
        p.frames = report._frames  # type: ignore[assignment]
        del frames, rows
        # The bytes go in through Arrow (no copy): as a query parameter DuckDB converts
        # them value by value, several times slower for a large file.
        assert all(c in "0123456789abcdef" for c in sha) and len(sha) == 64  # a literal below
        con.from_arrow(_binary_table(data)).query(
            "incoming",
            f"INSERT INTO raw_files SELECT '{sha}', {size:d}, content, now() FROM incoming WHERE NOT EXISTS "
            f"(SELECT 1 FROM raw_files WHERE content_sha256 = '{sha}')",
        )
        p.data = data = b""  # DuckDB holds its copy now: free ours before the commit
        release_duckdb_memory()  # the blob's transient copies are freed pages now
        return report


_CHECKPOINT_AT_COMMIT_BYTES = 16 * 1024**2
"""Uploads of at least this many bytes are checkpointed as they commit (DuckDB's own
default ``checkpoint_threshold``: a WAL this large is checkpointed at the next chance)."""


def _commit(con: duckdb.DuckDBPyConnection, size: int) -> None:
    """Commit an ingest of files totalling ``size`` bytes.

    A large upload commits straight into the database file: DuckDB checkpoints as it
    commits instead of first writing the transaction to its write-ahead log and copying
    it into the file at the next checkpoint (on close, for the command line). The log
    would hold the upload's raw bytes (``raw_files``) once more — 78 MiB written and
    synced for the 82 MB export of issue 8's benchmark. Equally durable: the commit
    returns once the checkpoint is on disk. When DuckDB cannot checkpoint then (another
    connection of this process has a transaction open), it logs as usual. Small uploads
    keep DuckDB's default (log now, checkpoint later).
    """
    if size < _CHECKPOINT_AT_COMMIT_BYTES:
        con.commit()
        return
    con.execute("SET checkpoint_threshold = '0B'")
    try:
        con.commit()
    finally:
        # Never let the reset hide a failed commit's own error.
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET checkpoint_threshold")


class _Sha256(threading.Thread):
    """The SHA-256 of some bytes, computed in a background thread."""

    def __init__(self, data: bytes) -> None:
        super().__init__(daemon=True)
        self._data, self._hex = data, ""
        self.start()

    def run(self) -> None:
        self._hex = hashlib.sha256(self._data).hexdigest()

    def hexdigest(self) -> str:
        self.join()
        return self._hex


def _arrow(frame: pl.DataFrame) -> Any:
    """``frame`` as Arrow for DuckDB without copying its strings (Arrow string views)."""
    return frame.to_arrow(compat_level=pl.CompatLevel.newest())


def _binary_table(data: bytes) -> Any:
    """A one-row Arrow table whose ``content`` column is ``data`` itself (no copy)."""
    import pyarrow as pa

    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64).tobytes())
    content = pa.LargeBinaryArray.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])
    return pa.table({"content": content})


@dataclass
class _Prepared:
    """One file read and normalised, waiting to be written."""

    name: str
    data: bytes
    sha: str
    upload_id: str
    result: ReadResult
    frames: Normalised
    assumptions: dict[str, str]
    tz: str
    options: ReadOptions


class PreparedUpload:
    """Files read and normalised for one patient by :meth:`Store.prepare`, not yet stored.

    Check it with ``store.ingest(upload, patient_id=..., dry_run=True)`` as often as
    needed and write it once with ``store.ingest(upload, patient_id=...)``. Every call
    compares with the store as it is then: rows stored since a check count as duplicates
    at the write. Writing frees the rows and bytes, so a written upload (or one whose
    write started and failed) cannot be used again: :meth:`Store.ingest` raises
    :class:`~toolkit.exceptions.StoreError`; prepare the files again.
    """

    __slots__ = ("_consumed", "_files", "options", "patient_id")

    def __init__(self, patient_id: str, options: ReadOptions, files: list[_Prepared]) -> None:
        self.patient_id = patient_id
        self.options = options
        self._files = files
        self._consumed = False

    @property
    def names(self) -> tuple[str, ...]:
        """The files' names, in order."""
        return tuple(p.name for p in self._files)

    @property
    def content_sha256(self) -> tuple[str, ...]:
        """The SHA-256 of each file's bytes, in order."""
        return tuple(p.sha for p in self._files)

    @property
    def consumed(self) -> bool:
        """True once a write of this upload started: it cannot be used again."""
        return self._consumed

    def __len__(self) -> int:
        return len(self._files)

    def __repr__(self) -> str:
        state = "consumed" if self._consumed else "ready"
        return f"PreparedUpload({self.patient_id!r}, {list(self.names)!r}, {state})"

    def _check_usable(self, patient_id: str) -> None:
        if self._consumed:
            raise StoreError(
                f"this prepared upload of {', '.join(self.names)} was already written (or its write "
                "failed) and its rows are freed; prepare the files again"
            )
        if patient_id != self.patient_id:
            raise OptionError(
                f"this upload was prepared for patient {self.patient_id!r}, not {patient_id!r}; prepare it again"
            )


def _report(p: _Prepared, *, duplicates: int, already: bool, dry_run: bool) -> IngestReport:
    name, sha, upload_id, result, frames, assumptions = (
        p.name,
        p.sha,
        p.upload_id,
        p.result,
        p.frames,
        p.assumptions,
    )
    rows = frames.rows
    q = frames.quarantine
    by_reason = dict(q.group_by("reason").len().sort("reason").iter_rows()) if q.height else {}
    warnings = list(result.warnings) + list(frames.warnings)
    if already:
        warnings.insert(
            0,
            "already ingested: this exact file was uploaded for this patient before; nothing new was added"
            if duplicates == rows.height
            else "this exact file was uploaded for this patient before",
        )
    dates = rows["local_date"] if rows.height else None
    return IngestReport(
        file=name,
        format=result.format,
        layout=result.layout,
        kind=result.kind,
        patient_id=str(rows["patient_id"][0]) if rows.height else "",
        rows_read=result.rows_read,
        rows_accepted=rows.height - duplicates,
        rows_duplicate=duplicates,
        rows_quarantined=q.height,
        warnings=warnings,
        assumptions=assumptions,
        quarantined_by_reason={k: int(v) for k, v in by_reason.items()},
        content_sha256=sha,
        upload_id=upload_id,
        already_ingested=already,
        first_date=None if dates is None else str(dates.min()),
        last_date=None if dates is None else str(dates.max()),
        dry_run=dry_run,
        # Only what the report shows later: the rows themselves are freed once written.
        _frames=Normalised(quarantine=q, warnings=frames.warnings),
    )


def _quarantine_rows(q: pl.DataFrame, *, upload_id: str, patient_id: str, file_name: str) -> pl.DataFrame:
    info = [r.value for r in Reason if r.is_info]
    return q.select(
        pl.lit(upload_id).alias("upload_id"),
        pl.lit(patient_id).alias("patient_id"),
        pl.lit(file_name).alias("file_name"),
        pl.col("_line").cast(pl.Int64).alias("source_line"),
        pl.col("column").alias("column_name"),
        "reason",
        pl.when(pl.col("reason").is_in(info))
        .then(pl.lit("info"))
        .otherwise(pl.lit("error"))
        .alias("severity"),
        "message",
        pl.col("raw").alias("raw_text"),
    ).sort("source_line")


def _load(item: str | Path | tuple[str, bytes]) -> tuple[str, bytes]:
    from toolkit.ingest._text import read_text_file

    if isinstance(item, tuple):
        return item[0], item[1]
    path = Path(item)
    return str(path), read_text_file(path)


def _ensure_patient(con: duckdb.DuckDBPyConnection, patient_id: str) -> None:
    con.execute(
        "INSERT INTO patients (patient_id, created_at_utc, updated_at_utc) "
        "SELECT ?, now(), now() WHERE NOT EXISTS (SELECT 1 FROM patients WHERE patient_id = ?)",
        [patient_id, patient_id],
    )


def _literal(text: str) -> str:
    """``text`` as an SQL string literal: quotes doubled (DuckDB reads no backslash escapes)."""
    return "'" + text.replace("'", "''") + "'"


def _check_patient_id(patient_id: str) -> None:
    if not patient_id or not patient_id.strip() or len(patient_id) > 100:
        raise OptionError(f"patient id must be 1–100 characters, got {patient_id!r}")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in patient_id):
        # The natural keys join their parts with a control character (unit separator):
        # an id holding one could make two patients' keys meet.
        raise OptionError(f"patient id must not contain control characters, got {patient_id!r}")
