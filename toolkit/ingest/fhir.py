"""FHIR R4 JSON: pain-score Observations, alone or in a Bundle (FORMATS.md §2.5).

Layouts:

``bundle``
    ``{"resourceType": "Bundle", "entry": [{"resource": {...}}, ...]}``. Every entry is
    a row: ``rows_read`` = number of entries, and ``_line`` is the **1-based index of
    the entry** in ``entry`` (JSON has no useful line per entry).
``observation``
    A single ``{"resourceType": "Observation", ...}``: one row, ``_line`` = 1.

A pain observation has, in ``code.coding``:

* LOINC ``72514-3`` (system ``http://loinc.org``) "Pain severity - 0-10 verbal numeric
  rating [Score] - Reported" → ``nrs_0_10``;
* SNOMED CT ``1144798005`` (system ``http://snomed.info/sct``) "Verbal Rating Scale
  pain intensity score" (DK Core ``ElsePainVRS``, KL ``KLToolsCarePainVRS``): its value
  is a coded severity (a SNOMED pain-severity finding, or an LA code). A *number* on a
  VRS has no defined range (the Danish VRS is 0–3) and is quarantined
  ``unknown_value`` rather than read as 0–10;
* SNOMED CT ``443394008`` "Visual analog scale pain score" → ``vas_0_100`` (÷ 10;
  the KL example ``HelenePainVAS`` has ``valueInteger`` 20; the 0–100 range is
  assumed and announced).

A coding without ``system`` is accepted when its code is one of these.

Values:

* ``valueInteger`` or ``valueQuantity.value`` (UCUM ``1``/``{score}`` or no unit): the
  number on the code's scale;
* ``valueCodeableConcept`` with a LOINC answer code of the 72514-3 answer list
  (:data:`LOINC_ANSWER_NRS`; ``scale_original`` = ``fhir_la_code``). LOINC displays
  ``LA6113-0`` as "2 or more" — a quirk of the shared answer list; in the 0–10 list it
  is the answer 2 and is read as 2 (announced);
* ``valueCodeableConcept`` with a SNOMED CT pain-severity finding (:data:`SNOMED_SEVERITY`:
  mild 40196000, moderate 50415004, severe 76948002, excruciating 67849003) placed on
  the NRS by :data:`toolkit.ingest.pain_csv.ORDINAL_TO_NRS` (``fhir_snomed_severity``;
  ``pain_original`` = its 0–4 rank).

Time: ``effectiveDateTime``, ``effectiveInstant`` or ``effectivePeriod.start``. With an
offset (``Z``, ``+02:00``) → ``ts_utc``; a FHIR date-only value (``2022-11-06``) →
``ts_local`` at midnight with ``time_known = False``. A year or year-month alone is
too imprecise and is quarantined ``bad_date``. ``bodySite`` (text or first display)
becomes ``location``; ``note[].text`` becomes ``notes``.

Quarantine (``raw`` holds the first 200 characters of the entry's JSON):
``not_a_pain_entry`` (another resource type, another observation, an entry without a
resource), ``entered_in_error`` (``status`` = ``entered-in-error``),
``missing_value`` (no value — ``dataAbsentReason`` is quoted — or no effective time),
``unknown_value`` (an answer code not in the tables), ``bad_number``,
``bad_date``, ``out_of_range``.

Invalid JSON is refused whole (``malformed_file``) with the line and column of the
error. Observations with other statuses (``preliminary``, ``amended`` ...) are read.
Pain scores inside ``component`` or ``QuestionnaireResponse`` are not read (UNVERIFIED
shapes).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from typing import Any

import polars as pl

from toolkit._polars import format_str
from toolkit.exceptions import IngestError, Reason
from toolkit.ingest._base import PAIN_INPUT, ReaderSpec, ReadOptions, ReadResult, Rejects, finish
from toolkit.ingest._common import date_only_warning, plural, pull_bad_dates, with_raw, with_timestamps
from toolkit.ingest.pain_csv import SCALE_MAX, pain_columns

__all__ = ["LOINC_ANSWER_NRS", "PAIN_CODES", "SNOMED_SEVERITY", "SPEC", "read", "sniff"]

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"

PAIN_CODES: dict[tuple[str, str], str] = {
    (LOINC, "72514-3"): "nrs_0_10",
    (SNOMED, "1144798005"): "vrs",
    (SNOMED, "443394008"): "vas_0_100",
}
"""(system, code) of a pain-score observation → scale of a numeric value (``vrs``: a
verbal scale, whose value must be a coded severity, not a number)."""

LOINC_ANSWER_NRS: dict[str, float] = {
    "LA6111-4": 0.0,
    "LA6112-2": 1.0,
    "LA6113-0": 2.0,  # displayed "2 or more" by LOINC (shared answer); 2 in this list
    "LA6114-8": 3.0,
    "LA6115-5": 4.0,
    "LA10137-0": 5.0,
    "LA10138-8": 6.0,
    "LA10139-6": 7.0,
    "LA10140-4": 8.0,
    "LA10141-2": 9.0,
    "LA13942-0": 10.0,
}
"""LOINC answer codes of the 72514-3 0–10 answer list (HL7 Belgium patient-monitoring
IG, ValueSet ``pain-scale``) → NRS value."""

SNOMED_SEVERITY: dict[str, str] = {
    "40196000": "mild",
    "50415004": "moderate",
    "76948002": "severe",
    "67849003": "extreme",
}
"""SNOMED CT pain-severity findings → category of
:data:`toolkit.ingest.pain_csv.ORDINAL_TO_NRS` (mild / moderate / severe /
excruciating pain)."""

_RESOURCE_TYPE = re.compile(rb'"resourceType"\s*:\s*"([A-Za-z]+)"')
_SNIFF_BYTES = 1 << 20

_ROW_SCHEMA: dict[str, pl.DataType] = {
    "_line": pl.Int64,
    "reason": pl.String,
    "column": pl.String,
    "message": pl.String,
    "effective": pl.String,
    "value": pl.Float64,
    "scale": pl.String,
    "category": pl.String,
    "location": pl.String,
    "notes": pl.String,
    "la_quirk": pl.Boolean,
    "what": pl.String,
    "raw": pl.String,
}


def sniff(data: bytes) -> str | None:
    """``bundle`` / ``observation`` when ``data`` looks like FHIR JSON, else ``None``.

    Looks at the first MiB for a ``"resourceType"`` of ``Bundle`` or ``Observation``
    (the document is parsed only by :func:`read`, which refuses invalid JSON).
    """
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(b"{"):
        return None
    types = {m.group(1) for m in _RESOURCE_TYPE.finditer(head)}
    if b"Bundle" in types:
        return "bundle"
    if b"Observation" in types:
        return "observation"
    return None


def _load(data: bytes, file: str) -> Any:
    try:
        return json.loads(data)
    except json.JSONDecodeError as exc:
        raise IngestError(
            file,
            Reason.MALFORMED,
            f"invalid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            row=exc.lineno,
            raw=exc.doc[max(exc.pos - 40, 0) : exc.pos + 40] if isinstance(exc.doc, str) else None,
        ) from None
    except UnicodeDecodeError as exc:
        raise IngestError(
            file, Reason.ENCODING, f"the JSON is not valid UTF-8/16/32 text: {exc.reason}"
        ) from None
    except RecursionError:
        raise IngestError(
            file, Reason.MALFORMED, "the JSON is nested too deeply to be a FHIR resource"
        ) from None


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    codings = concept.get("coding")
    return [c for c in codings if isinstance(c, dict)] if isinstance(codings, list) else []


def _code_text(concept: Any) -> str:
    for c in _codings(concept):
        code, display = c.get("code"), c.get("display")
        if code or display:
            return f"{code or ''}{f' ({display})' if display else ''}".strip()
    if isinstance(concept, dict) and isinstance(concept.get("text"), str):
        return concept["text"]
    return "without a code"


def _pain_scale(resource: dict[str, Any]) -> str | None:
    for c in _codings(resource.get("code")):
        system, code = c.get("system"), c.get("code")
        for (sys_, code_), scale in PAIN_CODES.items():
            if code == code_ and system in (sys_, None):
                return scale
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def _entry_row(index: int, entry: Any, *, bundle: bool) -> dict[str, Any]:
    """One output row (pain values or a quarantine reason) for one entry."""
    resource = entry.get("resource") if bundle and isinstance(entry, dict) else entry
    row: dict[str, Any] = {"_line": index}
    raw_source = entry if bundle else resource
    row["raw"] = json.dumps(raw_source, ensure_ascii=False, separators=(",", ":"))[:200]

    def reject(reason: Reason, column: str | None, message: str) -> dict[str, Any]:
        row.update(reason=reason.value, column=column, message=message)
        return row

    if not isinstance(resource, dict):
        row["what"] = "entry without a resource"
        return reject(Reason.INFO_NOT_PAIN, "resource", "a Bundle entry without a resource")
    rtype = resource.get("resourceType")
    if rtype != "Observation":
        row["what"] = str(rtype)
        return reject(Reason.INFO_NOT_PAIN, "resourceType", f"a {rtype} resource, not a pain observation")
    scale = _pain_scale(resource)
    if scale is None:
        row["what"] = "other Observation"
        return reject(
            Reason.INFO_NOT_PAIN,
            "code",
            f"Observation {_code_text(resource.get('code'))} is not a pain score",
        )
    if resource.get("status") == "entered-in-error":
        return reject(Reason.ENTERED_IN_ERROR, "status", "the observation was entered in error")

    # --- value
    if "valueInteger" in resource or "valueQuantity" in resource:
        if "valueInteger" in resource:
            raw_value, column = resource["valueInteger"], "valueInteger"
        else:
            q = resource["valueQuantity"]
            raw_value, column = (q.get("value") if isinstance(q, dict) else None), "valueQuantity.value"
        value = _number(raw_value)
        if raw_value is None:
            return reject(Reason.MISSING_VALUE, column, "the quantity has no value")
        if value is None:
            return reject(Reason.BAD_NUMBER, column, f"{raw_value!r} is not a number")
        if scale == "vrs":
            return reject(
                Reason.UNKNOWN_VALUE,
                column,
                f"a Verbal Rating Scale score given as the number {raw_value!r} has no known "
                "range; expected a coded severity (SNOMED CT mild/moderate/severe pain)",
            )
        row.update(value=value, scale=scale)
    elif "valueCodeableConcept" in resource:
        answers = _codings(resource["valueCodeableConcept"])
        for c in answers:
            code = c.get("code")
            if c.get("system") in (LOINC, None) and code in LOINC_ANSWER_NRS:
                row.update(value=LOINC_ANSWER_NRS[code], scale="fhir_la_code", la_quirk=code == "LA6113-0")
                break
            if c.get("system") in (SNOMED, None) and code in SNOMED_SEVERITY:
                row.update(category=SNOMED_SEVERITY[code], scale="fhir_snomed_severity")
                break
        else:
            codes = ", ".join(str(c.get("code")) for c in answers) or "none"
            return reject(
                Reason.UNKNOWN_VALUE,
                "valueCodeableConcept",
                f"answer code(s) {codes} are not a 0–10 LOINC answer (LA6111-4 … LA13942-0) or a "
                "SNOMED CT pain-severity finding",
            )
    elif any(k.startswith("value") for k in resource):
        kind = next(k for k in resource if k.startswith("value"))
        return reject(Reason.UNKNOWN_VALUE, kind, f"a {kind} is not a pain score value")
    else:
        absent = _code_text(resource.get("dataAbsentReason")) if "dataAbsentReason" in resource else None
        message = "the observation has no value" + (f" (dataAbsentReason: {absent})" if absent else "")
        return reject(Reason.MISSING_VALUE, "value[x]", message)

    # --- time
    effective = resource.get("effectiveDateTime") or resource.get("effectiveInstant")
    if effective is None and isinstance(resource.get("effectivePeriod"), dict):
        effective = resource["effectivePeriod"].get("start")
    if not isinstance(effective, str) or not effective.strip():
        return reject(Reason.MISSING_VALUE, "effective[x]", "the observation has no effective time")
    row["effective"] = effective

    site = resource.get("bodySite")
    if isinstance(site, dict):
        text = site.get("text")
        displays = [c.get("display") for c in _codings(site) if c.get("display")]
        row["location"] = text if isinstance(text, str) and text else (displays[0] if displays else None)
    notes = resource.get("note")
    if isinstance(notes, list):
        texts = [n["text"] for n in notes if isinstance(n, dict) and isinstance(n.get("text"), str)]
        row["notes"] = " | ".join(texts) or None
    return row


def read(data: bytes, file: str, layout: str, options: ReadOptions) -> ReadResult:
    """Read FHIR R4 JSON (a Bundle or one Observation) into ``PAIN_INPUT`` rows.

    Parameters
    ----------
    data
        The file's bytes.
    file
        Its display name.
    layout
        What :func:`sniff` said (the actual layout is taken from the document).
    options
        Not used (FHIR values carry their scale).

    Returns
    -------
    ReadResult
        ``rows_read`` = Bundle entries (or 1). ``data`` in ``PAIN_INPUT``: times,
        ``pain_nrs`` (0–10), ``pain_original`` (the number, the LA code's value, or the
        SNOMED finding's 0–4 rank), ``scale_original`` (``nrs_0_10``, ``vas_0_100``,
        ``fhir_la_code``, ``fhir_snomed_severity``), ``location`` (bodySite),
        ``notes``. The quarantine has an extra ``raw`` column (entry JSON, shortened).

    Raises
    ------
    IngestError
        ``MALFORMED`` for invalid JSON (with line and column), ``UNKNOWN_FORMAT`` when
        the document is not a Bundle or an Observation.
    """
    doc = _load(data, file)
    if not isinstance(doc, dict):
        raise IngestError(
            file,
            Reason.UNKNOWN_FORMAT,
            f"expected a FHIR Bundle or Observation object, got a JSON {type(doc).__name__}",
        )
    rtype = doc.get("resourceType")
    if rtype == "Bundle":
        entries = doc.get("entry") or []
        if not isinstance(entries, list):
            raise IngestError(file, Reason.MALFORMED, "the Bundle's 'entry' is not a list")
        layout, bundle = "bundle", True
    elif rtype == "Observation":
        entries, layout, bundle = [doc], "observation", False
    else:
        raise IngestError(
            file,
            Reason.UNKNOWN_FORMAT,
            f"a FHIR {rtype or 'resource without resourceType'}, not a Bundle or Observation",
        )
    rows = [_entry_row(i, entry, bundle=bundle) for i, entry in enumerate(entries, start=1)]
    frame = pl.DataFrame(rows, schema=_ROW_SCHEMA, orient="row") if rows else pl.DataFrame(schema=_ROW_SCHEMA)
    rej = Rejects()
    warnings: list[str] = []
    rej.add(frame.filter(pl.col("reason").is_not_null()))
    df = frame.filter(pl.col("reason").is_null())

    df = with_timestamps(df, "effective")
    df = pull_bad_dates(
        rej,
        df,
        "effective[x]",
        format_str(
            "'{}' is not a full FHIR date or dateTime (a year or month alone is too imprecise)",
            pl.col("effective"),
        ),
    )
    scale_max = pl.col("scale").replace_strict(SCALE_MAX, default=None, return_dtype=pl.Float64)
    df = rej.pull(
        df,
        scale_max.is_not_null() & ((pl.col("value") < 0) | (pl.col("value") > scale_max)),
        Reason.OUT_OF_RANGE,
        "value[x]",
        format_str(
            "pain {} is outside 0–{} ({})",
            pl.col("value").cast(pl.String).str.replace(r"\.0$", ""),
            scale_max.cast(pl.Int64),
            pl.col("scale"),
        ),
    )
    verbal = pl.col("scale") == "fhir_snomed_severity"
    vas = pl.col("scale") == "vas_0_100"
    df = df.with_columns(
        *pain_columns(pl.col("value"), pl.col("category"), verbal=verbal, vas=vas),
        pl.col("scale").alias("scale_original"),
    )
    quarantine = with_raw(rej.frame(), frame)

    others = Counter(frame.filter(pl.col("what").is_not_null())["what"].to_list())
    if others:
        listed = ", ".join(f"{w} {n}" for w, n in others.most_common())
        warnings.append(
            f"Set aside as not_a_pain_entry (not pain observations): "
            f"{plural(sum(others.values()), 'entry', 'entries')} ({listed})."
        )
    n_quirk = int(df["la_quirk"].fill_null(False).sum())
    if n_quirk:
        warnings.append(
            "LOINC answer LA6113-0 (displayed '2 or more' by LOINC) was read as 2 on the 0–10 "
            f"scale: {plural(n_quirk, 'rating')}."
        )
    n_vas = int(df.select(vas.sum()).item())
    if n_vas:
        warnings.append(
            "SNOMED CT 443394008 (VAS) values were read as 0–100 mm and divided by 10 "
            f"(assumed range): {plural(n_vas, 'rating')}."
        )
    n_verbal = int(df.select(verbal.sum()).item())
    if n_verbal:
        warnings.append(
            "SNOMED CT pain-severity findings mapped to the 0–10 scale (mild 2, moderate 5, "
            f"severe 8, excruciating 10; Serlin et al. 1995 cut-points): {plural(n_verbal, 'rating')}."
        )
    date_only_warning(df, warnings, "observation", "observations")
    return ReadResult(
        format="fhir",
        layout=layout,
        kind="pain",
        rows_read=len(entries),
        data=finish(df, PAIN_INPUT),
        quarantine=quarantine,
        warnings=warnings,
    )


SPEC = ReaderSpec(
    name="fhir",
    kind="pain",
    description="FHIR R4 JSON: pain Observations (LOINC 72514-3, SNOMED VRS/VAS) or a Bundle of them",
    read=read,
    sniff=sniff,
)
