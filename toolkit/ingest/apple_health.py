"""Apple Health ``export.xml`` (or the export zip): lower-back-pain symptom records.

Layouts:

``xml``
    The ``export.xml`` file itself (``<?xml ...?>``, Apple's internal DTD, then
    ``<HealthData>``).
``zip``
    The zip the Health app writes (``apple_health_export/export.xml`` or a top-level
    ``export.xml``); the member is streamed, never extracted.

Rows are the ``<Record type="HKCategoryTypeIdentifierLowerBackPain" .../>`` elements
only (FORMATS.md §2.4)::

    <Record type="HKCategoryTypeIdentifierLowerBackPain" sourceName="Health"
            startDate="2024-01-01 08:00:00 -0700" endDate="..."
            value="HKCategoryValueSeverityModerate"/>

Every other record type (heart rate, steps, other symptoms ...) is *not* a row: it is
counted and the count is reported in a warning. ``_line`` is the line of the
record's start tag in the XML (expat's ``CurrentLineNumber`` when the tag is parsed).

Severity: Apple's ``HKCategoryValueSeverity`` (developer.apple.com) as the string the
export writes (UNVERIFIED: inferred from how other category values serialise) or as
the raw integer:

=============================================  ===  ===============================
value                                          raw  result
=============================================  ===  ===============================
``HKCategoryValueSeverityUnspecified``         0    quarantined ``no_severity`` (info)
``HKCategoryValueSeverityNotPresent``          1    NRS 0
``HKCategoryValueSeverityMild``                2    NRS 2
``HKCategoryValueSeverityModerate``            3    NRS 5
``HKCategoryValueSeveritySevere``              4    NRS 8
=============================================  ===  ===============================

The categories are placed on the 0–10 scale by
:data:`toolkit.ingest.pain_csv.ORDINAL_TO_NRS` (Serlin et al. 1995 cut-points; mild 2,
moderate 5, severe 8). ``pain_original`` is the raw value (0–4), ``scale_original``
is ``apple_severity``, ``location`` is ``"lower back"``. ``startDate`` always has an
offset (``2024-01-01 08:00:00 -0700``) → ``ts_utc``.

Safety: the XML is parsed by :class:`defusedxml.ElementTree.DefusedXMLParser`, which
refuses entity declarations (billion laughs, quadratic blow-up) and external
entities, fed in 1 MiB chunks. Instead of ``iterparse`` + ``clear()`` the parser is
given a *target* that only looks at start tags: no element tree is ever built, so
memory stays flat on a 1 GB export, and the line of each record is exact (iterparse
reports events only after each 16 KiB chunk, when the parser's line is already
further on). Apple's own internal DTD (``<!ELEMENT>``/``<!ATTLIST>``) is allowed; a
document declaring an entity is refused ``malformed_file``. From a zip, at most
:data:`MAX_XML_BYTES` uncompressed bytes are read (zip-bomb guard,
``file_too_large``).
"""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from typing import IO, Any

import defusedxml.ElementTree as DET
import polars as pl
from defusedxml import DefusedXmlException

from toolkit._polars import format_str
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest._base import PAIN_INPUT, ReaderSpec, ReadOptions, ReadResult, Rejects, finish
from toolkit.ingest._common import plural, pull_bad_dates, pull_empty, with_raw, with_timestamps
from toolkit.ingest.pain_csv import ordinal_nrs

__all__ = ["MAX_XML_BYTES", "PAIN_RECORD_TYPE", "SEVERITY", "SPEC", "read", "sniff"]

PAIN_RECORD_TYPE = "HKCategoryTypeIdentifierLowerBackPain"
"""The record type read as pain (iOS 13.6+ symptom sample)."""

SEVERITY: dict[str, tuple[int, str | None]] = {
    "HKCategoryValueSeverityUnspecified": (0, None),
    "HKCategoryValueSeverityNotPresent": (1, "not present"),
    "HKCategoryValueSeverityMild": (2, "mild"),
    "HKCategoryValueSeverityModerate": (3, "moderate"),
    "HKCategoryValueSeveritySevere": (4, "severe"),
    "0": (0, None),
    "1": (1, "not present"),
    "2": (2, "mild"),
    "3": (3, "moderate"),
    "4": (4, "severe"),
}
"""``value`` attribute → (HKCategoryValueSeverity raw value, category of
:data:`~toolkit.ingest.pain_csv.ORDINAL_TO_NRS`; ``None`` = unspecified)."""

MAX_XML_BYTES = 8 * 1024**3
"""Most uncompressed bytes read from a zip's ``export.xml`` (zip-bomb guard)."""

_CHUNK = 1 << 20
_EXPORT_XML = re.compile(r"(^|/)export\.xml$")


def _export_member(zf: zipfile.ZipFile) -> zipfile.ZipInfo | None:
    members = [i for i in zf.infolist() if _EXPORT_XML.search(i.filename) and not i.is_dir()]
    members.sort(key=lambda i: (i.filename.count("/"), i.filename))
    return members[0] if members else None


def sniff(data: bytes) -> str | None:
    """``zip`` for a zip holding ``export.xml``; ``xml`` for Apple's ``<HealthData>``
    document — or for any XML declaring entities, so that it is refused as malformed
    rather than reported as unknown; else ``None``."""
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return "zip" if _export_member(zf) is not None else None
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    head = data[: 1 << 16].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"<"):
        return None
    if b"<HealthData" in head or b"<!DOCTYPE HealthData" in head or b"<!ENTITY" in head:
        return "xml"
    return None


class _Records:
    """Parser target: keeps the pain records, counts the others, builds no tree."""

    def __init__(self) -> None:
        self.expat: Any = None
        self.rows: list[tuple[int, str | None, str | None, str | None]] = []
        self.other: Counter[str] = Counter()
        self.root: str | None = None

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self.root is None:
            self.root = tag
        if tag != "Record":
            return
        kind = attrib.get("type")
        if kind == PAIN_RECORD_TYPE:
            self.rows.append(
                (
                    self.expat.CurrentLineNumber,
                    attrib.get("startDate"),
                    attrib.get("value"),
                    attrib.get("sourceName"),
                )
            )
        else:
            self.other[kind or "(no type)"] += 1

    def close(self) -> None:
        return None


def _chunks_from_bytes(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), _CHUNK):
        yield bytes(view[start : start + _CHUNK])


def _chunks_from_stream(stream: IO[bytes], file: str, limit: int) -> Iterator[bytes]:
    total = 0
    while chunk := stream.read(_CHUNK):
        total += len(chunk)
        if total > limit:
            raise IngestError(
                file,
                Reason.TOO_LARGE,
                f"export.xml inside the zip is larger than {limit:,} bytes uncompressed; "
                "refused (zip-bomb guard)",
            )
        yield chunk


def _parse(chunks: Iterator[bytes], file: str) -> _Records:
    target = _Records()
    parser = DET.DefusedXMLParser(target=target, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    target.expat = parser.parser
    try:
        for chunk in chunks:
            parser.feed(chunk)
        parser.close()
    except DefusedXmlException as exc:
        raise IngestError(
            file,
            Reason.MALFORMED,
            f"the XML declares entities or external references ({type(exc).__name__}); refused "
            "for safety — a real Health export does not",
            row=parser.parser.CurrentLineNumber,
        ) from None
    except DET.ParseError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        truncated = "no element found" in str(exc) or "unclosed token" in str(exc)
        raise IngestError(
            file,
            Reason.TRUNCATED if truncated else Reason.MALFORMED,
            (
                "the XML ends early: the export looks truncated; export it again"
                if truncated
                else f"invalid XML: {exc}"
            ),
            row=line,
        ) from None
    except (LookupError, ValueError) as exc:
        # expat hands the declared encoding (<?xml ... encoding="..."?>) to Python's codecs:
        # an unknown name is a LookupError, a multi-byte or non-text codec a ValueError
        # (UnicodeError among them).
        raise IngestError(
            file,
            Reason.ENCODING,
            f"the XML declares an encoding that cannot be read ({exc}); a Health export is UTF-8",
            row=parser.parser.CurrentLineNumber,
        ) from None
    return target


def read(data: bytes, file: str, layout: str, options: ReadOptions) -> ReadResult:
    """Read the lower-back-pain records of an Apple Health export.

    Parameters
    ----------
    data
        ``export.xml`` or the export zip.
    file
        Display name.
    layout
        ``xml`` or ``zip`` from :func:`sniff` (a zip is recognised from its bytes
        anyway).
    options
        Not used (the severity scale is fixed).

    Returns
    -------
    ReadResult
        ``rows_read`` = lower-back-pain records. ``data`` in ``PAIN_INPUT``:
        ``ts_utc`` (startDate), ``time_known`` True, ``pain_nrs`` (0/2/5/8),
        ``pain_original`` (raw 1–4), ``scale_original`` = ``apple_severity``,
        ``location`` = ``"lower back"``. Quarantine (with a ``raw`` column): ``no_severity``
        (Unspecified), ``missing_value`` (no value or startDate), ``unknown_value``,
        ``out_of_range`` (an integer outside 0–4), ``bad_date``.

    Raises
    ------
    IngestError
        ``MALFORMED`` (entity declarations, invalid XML, corrupt zip), ``TRUNCATED``,
        ``UNKNOWN_FORMAT`` (zip without ``export.xml``, XML that is not ``<HealthData>``),
        ``TOO_LARGE`` (zip member over :data:`MAX_XML_BYTES`).
    """
    if data[:4] == b"PK\x03\x04":
        layout = "zip"
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                member = _export_member(zf)
                if member is None:
                    names = ", ".join(zf.namelist()[:8]) or "nothing"
                    raise IngestError(
                        file,
                        Reason.UNKNOWN_FORMAT,
                        f"this zip has no export.xml (it holds: {names}); export again from the "
                        "Health app (profile → Export All Health Data)",
                    )
                if member.file_size > MAX_XML_BYTES:
                    raise IngestError(
                        file,
                        Reason.TOO_LARGE,
                        f"{member.filename} is {member.file_size:,} bytes uncompressed, over the "
                        f"{MAX_XML_BYTES:,}-byte limit",
                    )
                with zf.open(member) as stream:
                    records = _parse(_chunks_from_stream(stream, file, MAX_XML_BYTES), file)
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as exc:
            raise IngestError(file, Reason.MALFORMED, f"the zip cannot be read: {exc}") from None
    else:
        layout = "xml"
        records = _parse(_chunks_from_bytes(data), file)
    if records.root != "HealthData":
        raise IngestError(
            file,
            Reason.UNKNOWN_FORMAT,
            f"not an Apple Health export: the root element is <{records.root}>, not <HealthData>",
        )

    frame = pl.DataFrame(
        records.rows,
        schema={"_line": pl.Int64, "start": pl.String, "value": pl.String, "source": pl.String},
        orient="row",
    )
    frame = frame.with_columns(
        format_str(
            '<Record type="{}" sourceName="{}" startDate="{}" value="{}"/>',
            pl.lit(PAIN_RECORD_TYPE),
            pl.col("source").fill_null(""),
            pl.col("start").fill_null(""),
            pl.col("value").fill_null(""),
        )
        .str.slice(0, 200)
        .alias("raw")
    )
    codes = {k: v[0] for k, v in SEVERITY.items()}
    cats = {k: v[1] for k, v in SEVERITY.items() if v[1] is not None}
    value = pl.col("value").str.strip_chars()
    df = frame.with_columns(
        value.replace_strict(codes, default=None, return_dtype=pl.Float64).alias("pain_original"),
        value.replace_strict(cats, default=None, return_dtype=pl.String).alias("_cat"),
    )
    df = with_timestamps(df, "start")
    rej = Rejects()
    df = pull_empty(rej, df, "value", "value", "the record has no value")
    df = rej.pull(
        df,
        value.str.contains(r"^-?\d+$") & pl.col("pain_original").is_null(),
        Reason.OUT_OF_RANGE,
        "value",
        format_str("severity {} is outside HKCategoryValueSeverity 0–4", pl.col("value")),
    )
    df = rej.pull(
        df,
        pl.col("pain_original").is_null(),
        Reason.UNKNOWN_VALUE,
        "value",
        format_str("'{}' is not an HKCategoryValueSeverity value", pl.col("value")),
    )
    df = rej.pull(
        df,
        pl.col("pain_original") == 0,
        Reason.INFO_NO_SEVERITY,
        "value",
        "lower back pain recorded without a severity (HKCategoryValueSeverityUnspecified)",
    )
    df = pull_empty(rej, df, "start", "startDate", "the record has no startDate")
    df = pull_bad_dates(
        rej, df, "startDate", format_str("startDate '{}' is not 'YYYY-MM-DD HH:MM:SS ±HHMM'", pl.col("start"))
    )
    df = df.with_columns(
        ordinal_nrs(pl.col("_cat")).alias("pain_nrs"),
        pl.lit("apple_severity").alias("scale_original"),
        pl.lit("lower back").alias("location"),
    )
    quarantine = with_raw(rej.frame(), frame)

    warnings: list[str] = []
    if df.height:
        warnings.append(
            "Apple severities mapped to the 0–10 scale (not present 0, mild 2, moderate 5, "
            f"severe 8; Serlin et al. 1995 cut-points): {plural(df.height, 'record')}."
        )
    if not records.rows:
        warnings.append(f"No {PAIN_RECORD_TYPE} records in this export.")
    if records.other:
        n_other = sum(records.other.values())
        top = ", ".join(f"{_short(t)} {n:,}" for t, n in records.other.most_common(5))
        more = ", …" if len(records.other) > 5 else ""
        warnings.append(
            f"Other records ignored (not lower-back pain; not counted as rows): "
            f"{plural(n_other, 'record')} ({top}{more})."
        )
    return ReadResult(
        format="apple_health",
        layout=layout,
        kind="pain",
        rows_read=len(records.rows),
        data=finish(df, PAIN_INPUT),
        quarantine=quarantine,
        warnings=warnings,
    )


def _short(record_type: str) -> str:
    return re.sub(r"^HK\w*?TypeIdentifier", "", record_type)


SPEC = ReaderSpec(
    name="apple_health",
    kind="pain",
    description="Apple Health export.xml or export zip: HKCategoryTypeIdentifierLowerBackPain records",
    read=read,
    sniff=sniff,
)
