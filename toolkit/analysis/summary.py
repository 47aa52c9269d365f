"""One patient's answer: pain outcome, training load and flags over a period.

:func:`analyse_patient` reads the canonical tables of one patient from the store,
runs the analysis families and returns a :class:`PatientAnalysis` — the frames for
the dashboard, report and notebooks, and :meth:`PatientAnalysis.to_dict` for
``recovery analyse --json`` (a contract other tools read; see the CLI).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from toolkit.analysis import flags as fl
from toolkit.analysis import load as ld
from toolkit.analysis import pain as pn
from toolkit.analysis import relations as rl
from toolkit.analysis._frames import between, first_row, json_number, json_records
from toolkit.exceptions import OptionError, StoreError

__all__ = [
    "CohortAnalysis",
    "PatientAnalysis",
    "PatientBasics",
    "analyse_cohort",
    "analyse_patient",
    "analyse_tables",
    "complete_analysis",
    "patient_basics",
    "patient_tables",
]

_ANALYSED = ("sets", "sessions", "pain_entries", "outcome_measures")
"""The canonical tables :func:`analyse_tables` reads of a patient."""

_DIGITS = 4
"""Decimals of the numbers in :meth:`PatientAnalysis.to_dict` (the ``--json`` contract)."""


@dataclass
class PatientAnalysis:
    """Everything computed for one patient and period.

    Attributes
    ----------
    patient_id, start, end
        Who and which days (inclusive).
    patient
        The patient's record (dict; empty when none was entered).
    daily_load, weekly_load, session_load, acwr, weekly_top_load, progression
        Training-load frames (:mod:`toolkit.analysis.load`).
    daily_pain, pain_outcome, pain_slope, change_points, flares, prom_outcomes
        Pain frames (:mod:`toolkit.analysis.pain`).
    flags, safe_doses
        :mod:`toolkit.analysis.flags` output.
    relations
        Training ↔ pain relations in both directions (:func:`toolkit.analysis.relations.relations`).
    rest_strength
        Rest days between sessions vs strength gains (:func:`toolkit.analysis.relations.rest_and_strength`).
    messages
        What is missing or was withheld, in plain words.
    """

    patient_id: str
    start: dt.date | None
    end: dt.date | None
    patient: dict[str, Any]
    session_load: pl.DataFrame
    daily_load: pl.DataFrame
    weekly_load: pl.DataFrame
    acwr: pl.DataFrame
    weekly_top_load: pl.DataFrame
    progression: pl.DataFrame
    daily_pain: pl.DataFrame
    pain_outcome: pl.DataFrame
    pain_slope: pl.DataFrame
    change_points: pl.DataFrame
    flares: pl.DataFrame
    prom_outcomes: pl.DataFrame
    flags: pl.DataFrame
    safe_doses: pl.DataFrame
    adherence: pl.DataFrame
    relations: pl.DataFrame = field(default_factory=pl.DataFrame)
    rest_strength: pl.DataFrame = field(default_factory=pl.DataFrame)
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of ``recovery analyse --json``.

        Keys: ``patient_id``, ``period`` {start, end}, ``pain`` {baseline, current,
        change, percent_change, mcid_reached, trend_per_week, change_points, ...},
        ``load`` {sessions_per_week, rest_days_per_week, acwr_latest, ...},
        ``relations`` [...], ``flags`` [{date, kind, detail}], plus ``proms``,
        ``progression``, ``safe_doses`` and ``messages``.
        """
        return {
            "patient_id": self.patient_id,
            "period": {"start": _iso(self.start), "end": _iso(self.end)},
            **_headline(self),
            "relations": _relation_records(self.relations, "training→pain"),
            "reverse_relations": _relation_records(self.relations, "pain→training"),
            "rest_and_strength": json_records(self.rest_strength, _DIGITS),
            "significant_relations": rl.significant_sentences(self.relations)
            if self.relations.height
            else [],
            "flags": [
                {"date": _iso(r["date"]), "kind": r["kind"], "detail": r["detail"], "exercise": r["exercise"]}
                for r in self.flags.iter_rows(named=True)
            ],
            "proms": json_records(self.prom_outcomes, _DIGITS),
            "progression": json_records(self.progression, _DIGITS),
            "safe_doses": json_records(self.safe_doses, _DIGITS),
            "messages": list(self.messages),
        }


def _headline(a: PatientAnalysis | PatientBasics) -> dict[str, Any]:
    """The ``pain`` and ``load`` objects of :meth:`PatientAnalysis.to_dict` (the fast part:
    a :class:`PatientBasics` gives the same)."""
    outcome = first_row(a.pain_outcome)
    slope = first_row(a.pain_slope)
    weekly = a.weekly_load
    logged_weeks = weekly.filter(pl.col("logged_days") > 0) if weekly.height else weekly
    acwr_valid = a.acwr.filter(pl.col("acwr").is_not_null()) if a.acwr.height else a.acwr
    adherence = first_row(a.adherence)
    return {
        "pain": {
            "baseline": json_number(outcome.get("baseline"), _DIGITS),
            "current": json_number(outcome.get("current"), _DIGITS),
            "change": json_number(outcome.get("change"), _DIGITS),
            "percent_change": json_number(outcome.get("percent_change"), _DIGITS),
            "mcid_reached": outcome.get("mcid_reached"),
            "reliable_improvement": outcome.get("reliable_improvement"),
            "rci": json_number(outcome.get("rci"), _DIGITS),
            "trend_per_week": json_number(slope.get("slope_per_week"), _DIGITS),
            "trend_ci": [
                json_number(slope.get("ci_low"), _DIGITS),
                json_number(slope.get("ci_high"), _DIGITS),
            ],
            "change_points": [_iso(d) for d in a.change_points["date"].to_list()]
            if a.change_points.height
            else [],
            "flares": a.flares.height,
            "days_logged": a.daily_pain.height,
            "status": outcome.get("status"),
        },
        "load": {
            "sessions_per_week": json_number(_mean(logged_weeks, "sessions"), _DIGITS),
            "rest_days_per_week": json_number(_mean(logged_weeks, "rest_days"), _DIGITS),
            "acwr_latest": json_number(acwr_valid["acwr"][-1], _DIGITS) if acwr_valid.height else None,
            "acwr_variant": a.acwr["variant"][0] if a.acwr.height else None,
            "sessions": a.session_load.height,
            "adherence_pct": json_number(adherence.get("adherence_pct"), _DIGITS),
            "planned_sessions_per_week": json_number(adherence.get("planned_sessions_per_week"), _DIGITS),
        },
    }


_RELATION_KEYS = (
    "driver",
    "direction",
    "lag_days",
    "lag_label",
    "effect",
    "ci_low",
    "ci_high",
    "p_value",
    "q_value",
    "significant",
    "n",
    "unit",
    "sentence",
    "note",
)


def _relation_records(frame: pl.DataFrame, direction: str) -> list[dict[str, Any]]:
    """The tested relations of one direction (rows with an estimate), JSON-ready."""
    if frame.height == 0:
        return []
    rows = frame.filter((pl.col("direction") == direction) & pl.col("effect").is_not_null())
    return [
        {
            k: (json_number(v, _DIGITS) if isinstance(v, float) else v)
            for k, v in r.items()
            if k in _RELATION_KEYS
        }
        for r in rows.iter_rows(named=True)
    ]


def _iso(value: Any) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else None


def _mean(frame: pl.DataFrame, col: str) -> float | None:
    if frame.height == 0 or col not in frame.columns:
        return None
    return frame[col].mean()  # type: ignore[return-value]


@dataclass(frozen=True)
class PatientBasics:
    """The fast part of one patient's analysis (:func:`patient_basics`): enough for the
    headline and the pain chart, and the period's rows the rest is computed from.

    A page can show these while :func:`complete_analysis` computes the slower families
    (flags, relations, progression, safe doses: about half the time at 50k sets).

    Attributes
    ----------
    patient_id, start, end, patient
        As in :class:`PatientAnalysis` (``start``/``end``: the period, or the data's
        first and last day when not given).
    patients
        The patient's row of the store's patients table (0 or 1 row).
    sets, sessions, pain_entries, outcome_measures
        The patient's canonical rows in the period.
    session_load, daily_load, weekly_load, acwr, adherence
        Training load (:mod:`toolkit.analysis.load`).
    daily_pain, pain_outcome, pain_slope, change_points, flares, prom_outcomes
        Pain (:mod:`toolkit.analysis.pain`).
    messages
        What is missing or was withheld, in plain words.
    """

    patient_id: str
    start: dt.date | None
    end: dt.date | None
    patient: dict[str, Any]
    patients: pl.DataFrame
    sets: pl.DataFrame
    sessions: pl.DataFrame
    pain_entries: pl.DataFrame
    outcome_measures: pl.DataFrame
    session_load: pl.DataFrame
    daily_load: pl.DataFrame
    weekly_load: pl.DataFrame
    acwr: pl.DataFrame
    adherence: pl.DataFrame
    daily_pain: pl.DataFrame
    pain_outcome: pl.DataFrame
    pain_slope: pl.DataFrame
    change_points: pl.DataFrame
    flares: pl.DataFrame
    prom_outcomes: pl.DataFrame
    messages: tuple[str, ...]

    def headline(self) -> dict[str, Any]:
        """The ``pain`` and ``load`` objects of :meth:`PatientAnalysis.to_dict`, already."""
        return _headline(self)


def analyse_tables(
    patient_id: str,
    *,
    sets: pl.DataFrame,
    sessions: pl.DataFrame,
    pain_entries: pl.DataFrame,
    outcome_measures: pl.DataFrame,
    patients: pl.DataFrame,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> PatientAnalysis:
    """Analyse one patient from canonical tables already in memory (see :func:`analyse_patient`)."""
    return complete_analysis(
        patient_basics(
            patient_id,
            sets=sets,
            sessions=sessions,
            pain_entries=pain_entries,
            outcome_measures=outcome_measures,
            patients=patients,
            start=start,
            end=end,
        )
    )


def patient_basics(
    patient_id: str,
    *,
    sets: pl.DataFrame,
    sessions: pl.DataFrame,
    pain_entries: pl.DataFrame,
    outcome_measures: pl.DataFrame,
    patients: pl.DataFrame,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> PatientBasics:
    """The fast part of :func:`analyse_tables` (see :class:`PatientBasics`); the same
    arguments. ``complete_analysis(patient_basics(...))`` is ``analyse_tables(...)``."""
    if start is not None and end is not None and start > end:
        raise OptionError(f"--from must be on or before --to, got {start} > {end}")
    sets = between(sets.filter(pl.col("patient_id") == patient_id), "local_date", start, end)
    sessions = between(sessions.filter(pl.col("patient_id") == patient_id), "local_date", start, end)
    pain_entries = between(pain_entries.filter(pl.col("patient_id") == patient_id), "local_date", start, end)
    outcome_measures = between(
        outcome_measures.filter(pl.col("patient_id") == patient_id), "local_date", start, end
    )
    patients = patients.filter(pl.col("patient_id") == patient_id)
    record = patients.row(0, named=True) if patients.height else {}
    bodyweight = record.get("bodyweight_kg")

    messages: list[str] = []
    session_load = ld.session_load(sets, sessions, bodyweight_kg=bodyweight)
    daily = ld.daily_load(None, None, session_load=session_load)
    weekly = ld.weekly_load(daily)
    acwr = ld.acwr(daily, variant="ewma")
    adherence = ld.adherence(weekly, patients)
    daily_pain = pn.daily_pain(pain_entries)
    outcome = pn.pain_outcome(daily_pain, patients=patients)
    slope = pn.pain_slope(daily_pain)
    cps = pn.change_points(daily_pain)
    flares = pn.flares(daily_pain)
    proms = pn.prom_outcomes(outcome_measures)

    if sessions.height == 0:
        messages.append(
            "no training sessions in this period: load, ACWR and training flags need a workout export"
        )
    elif daily.height < 28:
        messages.append(f"only {daily.height} days of training log: ACWR is withheld for the first 28 days")
    if pain_entries.height == 0:
        messages.append(
            "no pain entries in this period: pain outcomes need a pain diary (recovery ingest PAIN.csv)"
        )
    elif daily_pain.height < 14:
        messages.append(
            f"only {daily_pain.height} days with pain ratings: baseline and current (7 days each) overlap or are missing"
        )
    if bodyweight is None and sets.height:
        messages.append(
            "no bodyweight recorded: bodyweight exercises (press-ups, back extensions) carry no load "
            "(recovery patient ID --bodyweight-kg KG)"
        )
    if outcome.height and outcome["status"][0] not in (None, "ok"):
        messages.append(f"pain: {outcome['status'][0]}")

    dates = [
        d
        for d in (
            sets["local_date"].min() if sets.height else None,
            daily_pain["date"].min() if daily_pain.height else None,
        )
        if d
    ]
    last = [
        d
        for d in (
            sets["local_date"].max() if sets.height else None,
            daily_pain["date"].max() if daily_pain.height else None,
        )
        if d
    ]
    return PatientBasics(
        patient_id=patient_id,
        start=start or (min(dates) if dates else None),
        end=end or (max(last) if last else None),
        patient=dict(record),
        patients=patients,
        sets=sets,
        sessions=sessions,
        pain_entries=pain_entries,
        outcome_measures=outcome_measures,
        session_load=session_load,
        daily_load=daily,
        weekly_load=weekly,
        acwr=acwr,
        adherence=adherence,
        daily_pain=daily_pain,
        pain_outcome=outcome,
        pain_slope=slope,
        change_points=cps,
        flares=flares,
        prom_outcomes=proms,
        messages=tuple(messages),
    )


def complete_analysis(basics: PatientBasics) -> PatientAnalysis:
    """The rest of :func:`analyse_tables` on top of :func:`patient_basics`: weekly top
    loads, progression, flags, relations, rest and strength, safe doses."""
    b = basics
    sets = b.sets
    weekly_top = ld.weekly_top_load(sets)
    progression = ld.progression(sets)
    flags = fl.standard_flags(b.session_load, b.daily_load, weekly_top, b.flares)
    relations = rl.relations(
        b.daily_load, b.daily_pain, sets=sets, session_load=b.session_load, lags=(0, 1, 2, 3, (1, 2))
    )
    rest_strength = rl.rest_and_strength(sets)
    doses = fl.safe_doses(sets, b.flares.select("patient_id", "date") if b.flares.height else b.flares)
    return PatientAnalysis(
        patient_id=b.patient_id,
        start=b.start,
        end=b.end,
        patient=dict(b.patient),
        session_load=b.session_load,
        daily_load=b.daily_load,
        weekly_load=b.weekly_load,
        acwr=b.acwr,
        weekly_top_load=weekly_top,
        progression=progression,
        daily_pain=b.daily_pain,
        pain_outcome=b.pain_outcome,
        pain_slope=b.pain_slope,
        change_points=b.change_points,
        flares=b.flares,
        prom_outcomes=b.prom_outcomes,
        flags=flags,
        safe_doses=doses,
        adherence=b.adherence,
        relations=relations,
        rest_strength=rest_strength,
        messages=list(b.messages),
    )


def analyse_patient(
    store: Any, patient_id: str, *, start: dt.date | None = None, end: dt.date | None = None
) -> PatientAnalysis:
    """Analyse one patient of a :class:`toolkit.store.Store` over ``[start, end]``.

    Raises
    ------
    StoreError
        The patient is not in the store.
    OptionError
        ``start`` after ``end``.
    """
    patients, tables = patient_tables(store, patient_id)
    return analyse_tables(patient_id, **tables, patients=patients, start=start, end=end)  # type: ignore[arg-type]


def patient_tables(
    store: Any, patient_id: str, names: Sequence[str] = _ANALYSED
) -> tuple[pl.DataFrame, dict[str, pl.DataFrame]]:
    """The store's ``patients`` table and ``patient_id``'s rows of the tables ``names``
    (default: those :func:`analyse_tables` reads), read while one connection holds the
    database open (each read would otherwise open the file again).

    Raises
    ------
    StoreError
        The patient is not in the store.
    """
    with store.connect(read_only=True) if store.exists() else contextlib.nullcontext():
        patients = store.table("patients")
        if patient_id not in set(patients["patient_id"].to_list()):
            known = ", ".join(patients["patient_id"].to_list()[:10]) or "none"
            raise StoreError(f"no patient {patient_id!r} in {store.path} (patients: {known})")
        return patients, {name: store.table(name, patient_id=patient_id) for name in names}


@dataclass
class CohortAnalysis:
    """A clinic's answer: one row per patient, the mixed model and the flare-risk validation.

    Attributes
    ----------
    table
        :func:`toolkit.analysis.cohort.cohort_table` (one row per patient).
    model
        :class:`toolkit.analysis.cohort.CohortModel` — weekly pain change on weekly
        sessions and load change, person-mean centred, random intercept and slope.
    model_sentences
        :func:`toolkit.analysis.cohort.describe` of the model.
    flare_risk
        :class:`toolkit.analysis.flare_risk.FlareRisk` — time-ordered validation
        against the no-skill baseline; risks shown only when it beats it.
    """

    table: pl.DataFrame
    model: Any
    model_sentences: list[str]
    flare_risk: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON object of ``recovery cohort --json``: ``patients``, ``model``, ``flare_risk``."""
        return {
            "patients": json_records(self.table, _DIGITS),
            "model": self.model.to_dict() if self.model is not None else None,
            "model_sentences": list(self.model_sentences),
            "flare_risk": self.flare_risk.to_dict(),
        }


def analyse_cohort(store: Any) -> CohortAnalysis:
    """Analyse every patient of a store together (see :class:`CohortAnalysis`)."""
    from toolkit.analysis import cohort as ch
    from toolkit.analysis import flare_risk as fr

    sets, sessions = store.table("sets"), store.table("sessions")
    pain, measures, patients = (
        store.table("pain_entries"),
        store.table("outcome_measures"),
        store.table("patients"),
    )
    bodyweight = patients.select("patient_id", "bodyweight_kg").filter(pl.col("bodyweight_kg").is_not_null())
    # The session loads, days and daily pain are computed once, for the table and the
    # flare-risk features.
    session_load = ld.session_load(sets, sessions, bodyweight_kg=bodyweight if bodyweight.height else None)
    daily = ld.daily_load(None, None, session_load=session_load)
    daily_pain = pn.daily_pain(pain)
    table = ch.cohort_table(
        sets,
        sessions,
        pain,
        patients,
        outcome_measures=measures,
        session_load=session_load,
        daily_load=daily,
        daily_pain=daily_pain,
    )
    panel = ch.weekly_panel(sets, sessions, pain, patients=patients)
    model = None
    sentences: list[str] = []
    if panel.filter(pl.col("pain_change").is_not_null()).select("patient_id").n_unique() >= 3:
        model = ch.mixed_model(panel)
        sentences = ch.describe(model)
    else:
        sentences = [
            "too few patients with weekly pain and training data for the clinic-level model (need 3)"
        ]
    risk = fr.flare_risk(fr.flare_features(daily, daily_pain, pn.flares(daily_pain)))
    return CohortAnalysis(table=table, model=model, model_sentences=sentences, flare_risk=risk)
