"""A synthetic clinic cohort written as real Strong, Hevy and pain-diary exports.

:func:`synthetic_cohort` simulates a back-pain rehabilitation clinic: every patient
logs a home/gym programme in a workout app and keeps a daily pain diary. The files
are written in the *real* export layouts (FORMATS.md §1.1–1.2), so they go through
the same readers, normaliser and store as a patient's upload; the effects the
analysis should find are planted with known sizes and recorded as ground truth.

Timeline (per patient, ``days`` calendar days from ``start``)
--------------------------------------------------------------
* Days 0–6 are a **baseline week**: pain diary only, no training.
* ``programme_start = start + 7 days``; training runs from there to the last day.
  With the default ``start`` (a Monday) programme weeks are ISO weeks.

Workout files (half Strong, half Hevy, alternating patient by patient)
---------------------------------------------------------------------
* Strong patients alternate between the **V1 classic** iOS layout (comma, no unit,
  ``0.0`` for bodyweight, ``Duration`` like ``1h 5m``; some patients use the rest timer,
  whose ``Rest Timer`` pseudo-rows appear after some working sets) and the **V3
  "Workout #"** layout (every field quoted, ``;``, ``Weight (kg)``, duration in seconds,
  blank bodyweight cells, occasional float artefacts such as ``62.50000000000001``,
  rest-timer rows as well). Rows are oldest first; weights are in kg.
* Hevy patients get the metric Hevy header, dates ``15 Sep 2025, 07:48``, newest
  workout first, 0-based ``set_index``, ``warmup`` sets before the deadlift (20 kg × 10,
  plus 50 % × 5 once *W* ≥ 45 kg; they count in the volume), blank weight for
  bodyweight sets, ``duration_seconds``
  ``0`` or blank on untimed sets (per patient), RPE 6–9 on some sets, ``superset_id``
  ``0`` on Bird Dog + Plank for some patients, an occasional emoji in the title.
* Every session (45–75 min) has, 3 sets each: **Deadlift (Barbell)** 3 × 8 at the
  working load *W*; alternately **Romanian Deadlift (Barbell)** 3 × 10 at 0.6 *W₀(t)*
  or **Back Extension (Machine)** 3 × 12 at 0.5 *W₀(t)* (equal volume, 18 *W₀*);
  Glute Bridge 3 × 12, Bird Dog 3 × 10, Side Bend (Dumbbell) 3 × 12 at 10–16 kg
  (+2 kg every 6 weeks), Plank 3 × 30–60 s (+5 s every 2 weeks), Push Up 3 × 8–12
  (some patients) and two 30-s sets of one stretch (Hamstring Stretch, Child's Pose,
  Knee to Chest Stretch, Hip Flexor Stretch in turn). An accessory is left out of 12 %
  of sessions. RPE 7–9 on the last deadlift set of about half the sessions. All names
  are in the exercise catalogue.
* *W₀(t)* starts at 45–70 % of bodyweight (≥ 30 kg) and rises **2.5 % per programme
  week**, rounded to 2.5 kg plates: the top load never rises by more than 10 % in a
  week (a 2.5 kg step on ≥ 30 kg is ≤ 8.3 %) unless planted. Session volume
  (Σ reps × kg) varies by only a few per cent from session to session, so no session
  reaches 1.5 × the trailing 28-day mean unless planted.

Schedule
--------
Each patient has a planned dose of 2–5 sessions per week on fixed weekdays (a
per-patient rotation of Mon/Thu, Mon/Wed/Fri, Mon/Tue/Thu/Fri or Mon–Fri). Each
planned session is done with probability *adherence* ~ U(0.80, 0.95) and moved one
day earlier/later with probability 0.10; runs of more than 5 consecutive training
days are broken (a session is dropped) except where a no-rest block is planted.

Weekly dose variation (``dose_variation=True``; off by default)
---------------------------------------------------------------
With the fixed plan above a patient's weekly dose varies only by adherence noise (SD
≈ 0.5–0.8 sessions/week), too little for a within-patient dose–response to be seen.
With ``dose_variation=True`` every programme week is, **independently of the other
weeks**, a *regular* week (p = 0.35: the template's days), a *deload* week (0.25: one
of them), a *holiday* week (0.15: none or one, equally likely) or a *catch-up* week
(0.25: the template's days plus others, 5 sessions in all; a dose-5 patient's catch-up
week is a regular one). The planned dose then has a mean of 2.28, 2.63, 2.98, 3.33
and a within-patient SD of 1.7, 1.7, 1.8, 2.1 sessions/week for a regular dose of 2,
3, 4, 5; adherence, moved days and broken runs apply as above, and the pain mechanism
is unchanged. Only the schedule's random draws change, so the files differ from those
of the default cohort, which stays byte-identical with the option off.

The planted within-patient slope (hand calculation). Before the floor a responder's
mean pain on day *t* is ``B − 0.15·S_t``. Number the days of programme week *w* from
*j* = 0 (the programme-start weekday; a Monday by default, so programme weeks are ISO
weeks) to 6, and let ``s_wj`` = 1 when a session was done on day *j*. ``S_t`` averaged
over the week is ``C_w + Σ_j s_wj·(6 − j)/7`` (``C_w`` = sessions before the week), so
the change of the weekly mean from week *w* − 1 to *w* is::

    Δ_w = −0.15 · [ Σ_j s_wj·(6 − j)/7  +  Σ_j s_(w−1)j·(j + 1)/7 ]

Each session's 0.15 NRS is split between the change of its own week, a share
(6 − *j*)/7, and that of the next week, (*j* + 1)/7. As weekly doses are drawn
independently, the within-patient slope of Δ_w on the same week's sessions is
``−0.15·a``, where *a* is the patient's mean same-week share over their sessions
(``same_week_share``; 9/14 for Monday/Thursday sessions, 4/7 for Monday–Friday). The
template is rotated at random, so over patients each weekday is equally likely, *a* ≈
3/7 and the slope ≈ −0.15 × 3/7 ≈ **−0.064 NRS per extra session in the week**
(``within_slope``; 0 for patients without a planted response). About 1.8–3.2
sessions a week are done, so the floor (28–40 sessions below the baseline) comes after
about 7–20 programme weeks (median ≈ 13); after it the slope is 0. Over 120 days the
planted mean of a responder still falls by 3.1–5.9 points (``expected_pain_change``,
seeds 1–20).

A model that also holds the week-on-week load change fixed, as
:func:`toolkit.analysis.cohort.mixed_model` does, estimates something else: at equal
load change a week with one more session followed a week with more sessions too, so
the ``sessions_within`` coefficient also takes up part of the previous week's
carry-over and lies between −0.15·*a* and −0.15 (if the load change were linear in
this week's minus last week's sessions it would be exactly −0.15). For cohorts of
this design it is about −0.08 to −0.11 NRS per session; the exact expectation for a
realised cohort is the model's fixed-effects regression applied to the planted weekly
change (``tests/analysis/test_cohort.py`` computes it from ``pain_baseline``,
``pain_floor``, the sessions, the rated days and the planted flares). Noise: the
weekly change has SD ≈ 0.7 NRS, so with a within-patient SD of ≈ 1.6 sessions and a
correlation of ≈ 0.6 with the load change the standard error is ≈ 0.7 / (1.6 × 0.8 ×
√N) for N patient-weeks: 60 responders × 126 days (≈ 790 weeks) give ≈ 0.02.

Pain diary
----------
Generic pain CSV ``date,time,pain,location,notes`` (19:00–22:59, ``lower back``),
one rating a day; about 10 % of days are not logged (never a planted flare day).
``pain = clip(rint(mean_t + e_t), 0, 10)`` with AR(1) noise
``e_t = 0.5·e_{t−1} + N(0, 0.7²)`` (stationary SD ≈ 0.81; the reverse patient uses
σ = 0.9), the mean by group:

============== ========================================================================
group          planted effect (default sizes)
============== ========================================================================
responder      ``mean_t = max(floor, baseline − 0.15·S_t)``: pain falls **0.15 NRS per
               completed session** (``S_t`` = sessions done before day t), baseline
               U(6, 7), floor U(1.0, 1.8). Planned doses cycle 2, 5, 3, 4/week (the
               default six: 2, 2, 3, 4, 5, 5), so the weekly slope before the floor
               ≈ 0.15 × adherence × dose ≈ 0.26–0.68 NRS/week (dose–response; the
               dose-5 patients reach their floor after ~7–8 weeks). Over the default
               16 programme weeks every responder's mean falls by ≥ 3 points (4.3–5.5
               in the default cohort; MCID: ≥ 2 points and ≥ 30 %);
               ``expected_pain_change`` gives each.
nonresponder   trains (dose 3, 4, 2/week) but ``mean_t = baseline + drift·t/days`` with
               baseline U(6, 7) and drift U(−0.3, 0.3): MCID not reached.
control        trains like everyone else (dose 2, 3, 4, 5, 3/week in turn);
               ``mean_t = baseline + drift·t/days`` with
               baseline U(3, 6.5) and drift U(−0.8, 0.8), independent of training.
               No spike, no no-rest block, no fast progression, no flare is planted.
spike          responder-like (dose 3 and 4/week), plus **2 load spikes** (by default;
               see *More spikes* below): a session
               on programme day ``g + j₁`` and another ``g + j₂`` days later, with
               ``g = max(28, round(0.3 L))`` (L = programme length) and jitter
               j ∈ {0…3}, so each has ≥ 28 days of history. A spike session has
               Deadlift 6 × 10 at *W*, Romanian Deadlift 5 × 10 *and* Back
               Extension 3 × 12, plus more of those sets until its volume is
               **≥ 2.2 × the trailing 28-day mean session volume** (≈ 2.2–2.5 ×;
               the exact ratio is the event's ``magnitude``); the top load is
               unchanged. Each spike is followed **1 or 2 days later by a pain flare
               of +3 NRS** on the mean, lasting **2 or 3 days**. ``spike_02`` also
               carries the too-fast progression below.
no_rest        responder-like, plus **8 consecutive training days** from programme
               day ``round(0.45 L)`` (the days before and after are rest days).
reverse        flat pain (baseline 5.0, σ = 0.9) with no training effect, but the
               patient **skips a planned session the day after a diary value ≥ 6**
               (pain-contingent activity: the relation runs pain → training).
============== ========================================================================

too_fast_progression (on ``spike_02``): for 3 consecutive programme weeks starting two
weeks after the last (by default the second) spike's week, but no later than the last
three full programme weeks, the deadlift working load rises **+15 % per week**
(rounded *up* to 2.5 kg, so each week-on-week rise is ≥ 15 %), then continues at
+2.5 %/week from the new level. Other lifts keep their normal progression.

More spikes (``spikes_per_patient``, 1–6; default 2)
----------------------------------------------------
With two spikes a per-patient test of spike → pain rests on two exposure days, and
after the Benjamini–Hochberg correction over a patient's ~34 tests the flare is often
not significant (lag 1 or 2 is for 29/40 spike patients, seeds 100–119).
``spikes_per_patient=n`` for any n other than 2 puts the spikes on programme days
``28 + 21·i + jᵢ`` (i = 0 … n − 1, jitter jᵢ ∈ {0…3}): each after the 28-day warm-up,
so it has a full trailing 28-day window, and 18–24 days after the previous one. Each
is built and followed by its flare exactly as above (≥ 2.2 × the trailing mean
session volume, the previous spike included; +3 NRS 1 or 2 days later for 2 or 3
days) and recorded as a ``load_spike`` and a ``pain_flare`` row of
``planted_events``. ``days`` must be ≥ 43 + 21·(n − 1) (and ≥ 98): 106 days for 4
spikes, 148 for 6. With 4 spikes (seeds 100–119, 40 spike patients, the relations
of :func:`toolkit.analysis.relations.relations` with lags ``(0, 1, 2, 3, (1, 2))``)
lag 1 or 2 is significant for 38/40, the 1–2-day window for 27/40, and the window's
95 % CI holds its planted size (the mean flare on days 1 and 2 after a spike) for
40/40. The default keeps its placement and random draws, so the default cohort's
files do not change.

Every planted spike, flare, no-rest block and too-fast window is a row of
``Cohort.planted_events``. Noise alone (rounded AR(1)) puts a diary value ≥ 2 points
above the median of the previous 7 days on about 3–5 days per patient per 120 days in
every group (more for the reverse patient): single-day blips, not planted, not listed.
Planted flares are +3 on the mean for 2–3 consecutive, always-logged days.

Determinism: each patient draws from ``numpy.random.default_rng([seed, group, i])``,
so the same arguments give byte-identical files.
"""

from __future__ import annotations

import hashlib
import itertools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from toolkit.exceptions import OptionError

if TYPE_CHECKING:
    from toolkit.ingest import ReadOptions
    from toolkit.store import IngestReport, Store

__all__ = ["GROUPS", "Cohort", "demo_cohort", "synthetic_cohort"]

GROUPS = ("responder", "nonresponder", "control", "spike", "no_rest", "reverse")
"""Patient groups, in the order patients are generated."""

_N_SPIKE = 2
_N_NO_REST = 1
_N_REVERSE = 1
_MIN_DAYS = 98
_SPIKES_DEFAULT = 2
_MAX_SPIKES = 6
_SPIKE_WARMUP = 28
_SPIKE_SPACING = 21
_BASELINE_DAYS = 7

_PHI = 0.5
_SIGMA = 0.7
_SIGMA_REVERSE = 0.9
_RESPONSE_PER_SESSION = 0.15
_FLARE_NRS = 3.0
_SPIKE_RATIO = 2.2
_SKIP_DIARY = 0.10
_REVERSE_BASELINE = 5.0
_REVERSE_SKIP_AT = 6

_WEEKLY_STEP = 0.025
_FAST_STEP = 0.15
_FAST_WEEKS = 3
_NO_REST_DAYS = 8
_MAX_RUN = 5
_MOVE_P = 0.10

_TEMPLATES = {2: (0, 3), 3: (0, 2, 4), 4: (0, 1, 3, 4), 5: (0, 1, 2, 3, 4)}
_WEEK_KINDS = ("regular", "deload", "holiday", "catch_up")
_WEEK_P = (0.35, 0.25, 0.15, 0.25)
_MAX_WEEK = 5
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_STRETCHES = ("Hamstring Stretch", "Child's Pose", "Knee to Chest Stretch", "Hip Flexor Stretch")
_PAIN_NOTES = (
    "stiff in the morning",
    "long day at the desk",
    "slept badly",
    "good day",
    "walked 5 km",
    "sore after gardening",
    "twinge bending down",
    "better after a hot shower",
)
_FLARE_NOTES = ("sore after the big session", "flare-up, took ibuprofen", "back locked up", "")
_HEVY_TITLES = ("Back Rehab", "Lower Back Programme", "Rehab 💪", "Strength + Mobility")
_STRONG_TITLES = ("Back Rehab", "Rehab Programme", "Lower Back", "Strength & Mobility")


# --------------------------------------------------------------------------- records


@dataclass(frozen=True, eq=False)
class Cohort:
    """A synthetic cohort: ground truth plus the export files of every patient.

    Attributes
    ----------
    patients
        One row per patient (ground truth):

        * ``patient_id`` — ``<group>_<nn>``, e.g. ``responder_01``, ``no_rest_01``.
        * ``group`` — one of :data:`GROUPS`.
        * ``app`` — ``strong`` or ``hevy``; ``layout`` — ``v1_classic``,
          ``v3_workout_number`` (Strong) or ``metric`` (Hevy).
        * ``sessions_per_week`` — planned dose (sessions/week, Float64): the
          template's; with ``dose_variation`` the mean of the full programme weeks'
          planned sessions.
        * ``adherence`` — probability a planned session was done.
        * ``sessions_done`` — sessions in the workout file.
        * ``bodyweight_kg`` — body mass (kg).
        * ``programme_start`` — first day training could happen (Date).
        * ``pain_baseline`` — planted mean pain at day 0 (NRS 0–10).
        * ``expected_pain_change`` — planted change of the mean pain from the first
          to the last day (NRS points; negative = improvement; flares excluded).
        * ``pain_floor`` — the floor of the planted response (NRS; null for groups
          without one).
        * ``planned_weekly_sessions`` — planned sessions in each programme week
          (List[Int64]; week 0 starts on ``programme_start``, the last may be
          partial); constant but for that last week unless ``dose_variation``.
        * ``weekly_sessions`` — sessions in the workout file in each programme week
          (List[Int64], same weeks).
        * ``same_week_share`` — mean over the patient's sessions of (6 − *j*)/7, *j*
          = day of the programme week (0–6): the part of a session's effect that
          lands in its own week's change of mean pain (null without sessions).
        * ``within_slope`` — planted within-patient slope of the weekly change of
          mean pain on that week's sessions before the floor, −0.15 ×
          ``same_week_share`` (NRS per session); 0.0 for groups without a planted
          response. See the module docstring for the hand calculation and for what a
          model that also holds the load change fixed estimates.
        * ``notes`` — the planted effects in words.
    planted_events
        One row per planted event: ``patient_id``, ``kind`` (``load_spike``,
        ``pain_flare``, ``no_rest_block``, ``too_fast_progression``),
        ``start_date``, ``end_date`` (inclusive), ``magnitude`` (spike: session
        volume / trailing 28-day mean session volume; flare: +NRS on the mean;
        no-rest: days; too-fast: weekly rise of the top load as a fraction) and
        ``detail`` (text).
    files
        One row per file: ``patient_id``, ``kind`` (``workout``/``pain``), ``path``
        (written path, or ``<patient_id>/<name>`` in memory), ``format`` and
        ``layout`` (what the reader should detect), ``n_rows`` (data rows),
        ``n_records`` (rows that become sets / pain entries), ``n_info`` (Strong
        rest-timer rows, quarantined as information), ``sha256``; plus ``content``
        (Binary, the file's bytes) when the cohort was built in memory.
    seed, start, days, dose_variation, spikes_per_patient
        The arguments the cohort was built with.

    Examples
    --------
    >>> from toolkit.store import Store
    >>> cohort = demo_cohort()
    >>> reports = cohort.ingest_into(Store(tmp_path / "c.duckdb"))  # doctest: +SKIP
    >>> cohort.planted_events.filter(pl.col("kind") == "no_rest_block").height
    1
    """

    patients: pl.DataFrame
    planted_events: pl.DataFrame
    files: pl.DataFrame
    seed: int = 7
    start: date = date(2025, 1, 6)
    days: int = 120
    dose_variation: bool = False
    spikes_per_patient: int = _SPIKES_DEFAULT

    def file_items(self, patient_id: str | None = None) -> Iterator[tuple[str, str, bytes]]:
        """Yield ``(patient_id, file name, bytes)`` for every file (or one patient's).

        Parameters
        ----------
        patient_id
            Only this patient's files; all when None.
        """
        rows = self.files if patient_id is None else self.files.filter(pl.col("patient_id") == patient_id)
        has_content = "content" in rows.columns
        for row in rows.iter_rows(named=True):
            data = row["content"] if has_content else Path(row["path"]).read_bytes()
            yield row["patient_id"], Path(row["path"]).name, bytes(data)

    def tables(self, *, options: ReadOptions | None = None) -> dict[str, pl.DataFrame]:
        """The canonical tables of the cohort without a store (for cohorts too large to
        ingest quickly).

        Every file goes through the real reader (:func:`toolkit.ingest.read_bytes`) and
        normaliser (:func:`toolkit.ingest._normalise.normalise`), the two steps
        :meth:`toolkit.store.Store.ingest` runs before writing, so the rows equal the
        store's after :meth:`ingest_into` except ``upload_id`` (here the first 32 hex
        digits of the file's sha256, not a random id). Nothing is de-duplicated against
        earlier uploads (a cohort has none) and quarantined rows (Strong rest-timer rows)
        are left out.

        Parameters
        ----------
        options
            Reading options; default ``ReadOptions(tz="UTC")`` as in :meth:`ingest_into`.

        Returns
        -------
        dict of str to polars.DataFrame
            ``sets``, ``sessions`` and ``pain_entries`` (the store's columns, patient by
            patient in file order) and ``patients`` (``patient_id``, ``name``,
            ``surgery_date``, ``programme_start_date``, ``planned_sessions_per_week``,
            ``bodyweight_kg``: what :meth:`ingest_into` registers).
        """
        from toolkit.ingest import ReadOptions, read_bytes
        from toolkit.ingest._normalise import normalise
        from toolkit.store import local_zone

        opts = options if options is not None else ReadOptions(tz="UTC")
        tz = opts.tz or local_zone()
        parts: dict[str, list[pl.DataFrame]] = {"sets": [], "sessions": [], "pain_entries": []}
        for pid, name, data in self.file_items():
            result, _ = read_bytes(data, name, opts)
            normalised = normalise(
                result,
                patient_id=pid,
                upload_id=hashlib.sha256(data).hexdigest()[:32],
                tz=tz,
                day_start_hour=opts.day_start_hour,
            )
            for key, found in parts.items():
                frame = getattr(normalised, key)
                if frame is not None:
                    found.append(frame)
        out = {key: pl.concat(frames, how="vertical_relaxed") for key, frames in parts.items() if frames}
        out["patients"] = self.patients.select(
            "patient_id",
            pl.lit(None, dtype=pl.String).alias("name"),
            pl.lit(None, dtype=pl.Date).alias("surgery_date"),
            pl.col("programme_start").alias("programme_start_date"),
            pl.col("sessions_per_week").alias("planned_sessions_per_week"),
            "bodyweight_kg",
        )
        return out

    def ingest_into(
        self,
        store: Store,
        *,
        options: ReadOptions | None = None,
        progress: Callable[[], None] | None = None,
    ) -> list[IngestReport]:
        """Register every patient and ingest their files through the real ingest path.

        Parameters
        ----------
        store
            The workspace to fill.
        options
            Reading options; default ``ReadOptions(tz="UTC")`` (the files carry
            naive local times; weights of Strong V1 are read as kg).
        progress
            Called once after each patient (for progress bars).

        Returns
        -------
        list of IngestReport
            One per file, patient by patient, workout file first.
        """
        from toolkit.ingest import ReadOptions

        opts = options if options is not None else ReadOptions(tz="UTC")
        reports: list[IngestReport] = []
        for p in self.patients.iter_rows(named=True):
            pid = p["patient_id"]
            store.upsert_patient(
                pid,
                bodyweight_kg=p["bodyweight_kg"],
                planned_sessions_per_week=p["sessions_per_week"],
                programme_start_date=p["programme_start"],
            )
            items = [(name, data) for _, name, data in self.file_items(pid)]
            reports.extend(store.ingest(items, patient_id=pid, options=opts))
            if progress is not None:
                progress()
        return reports


@dataclass(slots=True)
class _Set:
    exercise: str
    set_type: str  # working | warmup
    weight: float | None
    reps: int | None
    seconds: int | None = None
    rpe: float | None = None
    rest_s: int | None = None


@dataclass(slots=True)
class _Session:
    day: int
    start: datetime
    duration_s: int
    title: str
    sets: list[_Set]
    workout_notes: str = ""

    @property
    def volume(self) -> float:
        return float(sum(s.reps * s.weight for s in self.sets if s.reps and s.weight))


@dataclass
class _Patient:
    pid: str
    group: str
    app: str
    layout: str
    spw: int
    rng: np.random.Generator
    vary: bool = False
    bodyweight: float = 0.0
    adherence: float = 0.0
    baseline: float = 0.0
    floor: float | None = None
    expected_change: float = 0.0
    notes: list[str] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)
    planned_weekly: list[int] = field(default_factory=list)
    done_weekly: list[int] = field(default_factory=list)
    same_week_share: float | None = None
    within_slope: float | None = None


# --------------------------------------------------------------------------- public


def synthetic_cohort(
    out_dir: str | Path | None = None,
    *,
    seed: int = 7,
    n_responders: int = 6,
    n_nonresponders: int = 3,
    n_controls: int = 10,
    days: int = 120,
    start: date = date(2025, 1, 6),
    dose_variation: bool = False,
    spikes_per_patient: int = _SPIKES_DEFAULT,
) -> Cohort:
    """Generate a synthetic cohort of real-format exports with planted effects.

    Parameters
    ----------
    out_dir
        Directory to write ``<patient_id>/strong.csv`` or ``workouts.csv`` (Hevy)
        and ``<patient_id>/pain_diary.csv`` into (created). None keeps the bytes
        in memory (``Cohort.files["content"]``).
    seed
        Random seed; the same arguments give byte-identical files.
    n_responders, n_nonresponders, n_controls
        Group sizes. Two ``spike``, one ``no_rest`` and one ``reverse`` patient
        are always added.
    days
        Calendar days per patient, baseline week included (≥ 98 so every planted
        event fits). Effect sizes in the module docstring are for 120 days.
    start
        First diary day of every patient.
    dose_variation
        Vary every patient's planned sessions from week to week (regular, deload,
        holiday and catch-up weeks, drawn independently), so a within-patient
        dose–response can be estimated; default False (the fixed weekly plan; the
        files of the default cohort do not change). The planted response per session
        is the same; see the module docstring for the weekly plan and the expected
        within-patient slope.
    spikes_per_patient
        Load spikes (each followed by its +3 NRS flare) per ``spike`` patient, 1–6;
        default 2 (the files of the default cohort do not change). Other counts
        place the spikes about 21 days apart after the 28-day warm-up (see the module
        docstring) and need ``days`` ≥ 43 + 21 × (``spikes_per_patient`` − 1), at
        least 98: 106 days for 4 spikes, 148 for 6. More spikes give the per-patient
        spike → flare test more power.

    Returns
    -------
    Cohort
        Ground truth (``patients``, ``planted_events``) and ``files``.

    Raises
    ------
    OptionError
        A count is negative, ``days`` is below 98 (or too short for the spikes),
        ``dose_variation`` is not a bool or ``spikes_per_patient`` is not an int in 1–6.

    Notes
    -----
    The planted effects and their sizes are listed in the module docstring of
    :mod:`toolkit.datasets._cohort`.

    Examples
    --------
    >>> cohort = synthetic_cohort(seed=1, n_controls=2, days=98)
    >>> cohort.patients.height
    15
    """
    for name, value in (
        ("n_responders", n_responders),
        ("n_nonresponders", n_nonresponders),
        ("n_controls", n_controls),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise OptionError(f"{name} must be an int ≥ 0, got {value!r}")
    if isinstance(days, bool) or not isinstance(days, int) or days < _MIN_DAYS:
        raise OptionError(f"days must be an int ≥ {_MIN_DAYS} (so every planted event fits), got {days!r}")
    if not isinstance(start, date) or isinstance(start, datetime):
        raise OptionError(f"start must be a datetime.date, got {start!r}")
    if not isinstance(dose_variation, bool):
        raise OptionError(f"dose_variation must be True or False, got {dose_variation!r}")
    if (
        isinstance(spikes_per_patient, bool)
        or not isinstance(spikes_per_patient, int)
        or not 1 <= spikes_per_patient <= _MAX_SPIKES
    ):
        raise OptionError(
            f"spikes_per_patient must be an int in 1..{_MAX_SPIKES}, got {spikes_per_patient!r}"
        )
    need = _spike_days_needed(spikes_per_patient)
    if days < need:
        raise OptionError(
            f"days must be ≥ {need} for spikes_per_patient={spikes_per_patient} (the last spike "
            f"and its flare must end by the last day), got {days}"
        )

    counts = dict(
        zip(
            GROUPS,
            (n_responders, n_nonresponders, n_controls, _N_SPIKE, _N_NO_REST, _N_REVERSE),
            strict=True,
        )
    )
    patients: list[_Patient] = []
    k = 0
    n_strong = 0
    for g_index, group in enumerate(GROUPS):
        doses = _doses(group, counts[group])
        for i in range(counts[group]):
            if k % 2 == 0:
                app, layout = "strong", ("v1_classic", "v3_workout_number")[n_strong % 2]
                n_strong += 1
            else:
                app, layout = "hevy", "metric"
            rng = np.random.default_rng([seed, g_index, i])
            patients.append(
                _Patient(f"{group}_{i + 1:02d}", group, app, layout, doses[i], rng, vary=dose_variation)
            )
            k += 1

    out = Path(out_dir) if out_dir is not None else None
    truth, events, files = [], [], []
    for p in patients:
        sessions, diary = _simulate(p, days=days, start=start, n_spikes=spikes_per_patient)
        workout_name = "strong.csv" if p.app == "strong" else "workouts.csv"
        workout = _write_workout(p, sessions)
        pain = _write_pain(diary)
        for kind, name, (data, n_rows, n_records, n_info), fmt, layout in (
            ("workout", workout_name, workout, p.app, p.layout),
            ("pain", "pain_diary.csv", pain, "pain_csv", "unlabelled"),
        ):
            if out is None:
                path = f"{p.pid}/{name}"
            else:
                target = out / p.pid / name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                path = str(target)
            files.append(
                {
                    "patient_id": p.pid,
                    "kind": kind,
                    "path": path,
                    "format": fmt,
                    "layout": layout,
                    "n_rows": n_rows,
                    "n_records": n_records,
                    "n_info": n_info,
                    "sha256": hashlib.sha256(data).hexdigest(),
                    **({"content": data} if out is None else {}),
                }
            )
        truth.append(
            {
                "patient_id": p.pid,
                "group": p.group,
                "app": p.app,
                "layout": p.layout,
                "sessions_per_week": _planned_dose(p, days - _BASELINE_DAYS),
                "adherence": round(p.adherence, 3),
                "sessions_done": len(sessions),
                "bodyweight_kg": p.bodyweight,
                "programme_start": start + timedelta(days=_BASELINE_DAYS),
                "pain_baseline": round(p.baseline, 2),
                "expected_pain_change": round(p.expected_change, 2),
                "pain_floor": None if p.floor is None else round(p.floor, 2),
                "planned_weekly_sessions": p.planned_weekly,
                "weekly_sessions": p.done_weekly,
                "same_week_share": p.same_week_share,
                "within_slope": p.within_slope,
                "notes": "; ".join(p.notes),
            }
        )
        events.extend({"patient_id": p.pid, **e} for e in p.events)

    file_schema = {
        "patient_id": pl.String,
        "kind": pl.String,
        "path": pl.String,
        "format": pl.String,
        "layout": pl.String,
        "n_rows": pl.Int64,
        "n_records": pl.Int64,
        "n_info": pl.Int64,
        "sha256": pl.String,
    }
    if out is None:
        file_schema["content"] = pl.Binary
    event_schema = {
        "patient_id": pl.String,
        "kind": pl.String,
        "start_date": pl.Date,
        "end_date": pl.Date,
        "magnitude": pl.Float64,
        "detail": pl.String,
    }
    patient_schema = {
        "patient_id": pl.String,
        "group": pl.String,
        "app": pl.String,
        "layout": pl.String,
        "sessions_per_week": pl.Float64,
        "adherence": pl.Float64,
        "sessions_done": pl.Int64,
        "bodyweight_kg": pl.Float64,
        "programme_start": pl.Date,
        "pain_baseline": pl.Float64,
        "expected_pain_change": pl.Float64,
        "pain_floor": pl.Float64,
        "planned_weekly_sessions": pl.List(pl.Int64),
        "weekly_sessions": pl.List(pl.Int64),
        "same_week_share": pl.Float64,
        "within_slope": pl.Float64,
        "notes": pl.String,
    }
    return Cohort(
        patients=pl.DataFrame(truth, schema=patient_schema),
        planted_events=pl.DataFrame(events, schema=event_schema).sort("patient_id", "start_date", "kind"),
        files=pl.DataFrame(files, schema=file_schema),
        seed=seed,
        start=start,
        days=days,
        dose_variation=dose_variation,
        spikes_per_patient=spikes_per_patient,
    )


def demo_cohort() -> Cohort:
    """The default cohort (:func:`synthetic_cohort` with its defaults), in memory.

    Returns
    -------
    Cohort
        23 patients: 6 responders, 3 nonresponders, 10 controls, 2 spike, 1 no-rest
        and 1 reverse patient, 120 days from 2025-01-06.
    """
    return synthetic_cohort()


# --------------------------------------------------------------------------- simulation


def _planned_dose(p: _Patient, span: int) -> float:
    """Planned sessions/week: the template's, or the mean over the full programme weeks."""
    if not p.vary:
        return float(p.spw)
    return round(float(np.mean(p.planned_weekly[: span // 7])), 3)


def _doses(group: str, n: int) -> list[int]:
    """Planned sessions/week of the ``n`` patients of a group."""
    cycle = {
        "responder": (2, 5, 3, 4),
        "nonresponder": (3, 4, 2),
        "control": (2, 3, 4, 5, 3),
        "spike": (3, 4),
        "no_rest": (3,),
        "reverse": (4,),
    }[group]
    return [cycle[i % len(cycle)] for i in range(n)]


def _spike_days_needed(n_spikes: int) -> int:
    """Fewest ``days`` for ``n_spikes`` spikes per spike patient: the last spike (programme
    day ≤ 28 + 21 (n − 1) + 3) and its flare (≤ 4 days later) must end by the last day."""
    if n_spikes == _SPIKES_DEFAULT:
        return _MIN_DAYS
    return max(_MIN_DAYS, _BASELINE_DAYS + _SPIKE_WARMUP + _SPIKE_SPACING * (n_spikes - 1) + 3 + 4 + 1)


def _spike_days(rng: np.random.Generator, first: int, span: int, n_spikes: int) -> list[int]:
    """Days of a spike patient's load spikes. The default two: programme days ``g + j₁`` and
    ``g + j₁ + g + j₂`` with ``g = max(28, round(0.3 L))``; any other count: ``28 + 21 i + jᵢ``
    (i = 0 … n − 1). Jitter j ∈ {0…3}, one draw per spike."""
    if n_spikes == _SPIKES_DEFAULT:
        gap = max(_SPIKE_WARMUP, round(0.3 * span))
        s1 = first + gap + int(rng.integers(0, 4))
        return [s1, s1 + gap + int(rng.integers(0, 4))]
    return [first + _SPIKE_WARMUP + _SPIKE_SPACING * i + int(rng.integers(0, 4)) for i in range(n_spikes)]


def _simulate(
    p: _Patient, *, days: int, start: date, n_spikes: int = _SPIKES_DEFAULT
) -> tuple[list[_Session], list[tuple]]:
    """Draw one patient's schedule, pain diary and sessions (mutates ``p``'s truth)."""
    rng = p.rng
    first = _BASELINE_DAYS
    span = days - first
    p.bodyweight = round(float(np.clip(rng.normal(78, 12), 52, 115)), 1)
    p.adherence = float(rng.uniform(0.80, 0.95))
    day0 = datetime(start.year, start.month, start.day)

    def when(d: int) -> date:
        return start + timedelta(days=d)

    # -- schedule ------------------------------------------------------------------
    train, template_days = _schedule(rng, days, first, p.spw, p.adherence, vary=p.vary)
    protected: set[int] = set()
    block: set[int] = set()
    spikes: list[int] = []
    fast_weeks: list[int] = []
    if p.group == "spike":
        spikes = _spike_days(rng, first, span, n_spikes)
        protected.update(spikes)
        train[spikes] = True
        if p.pid == "spike_02":
            w0 = min((spikes[-1] - first) // 7 + 2, span // 7 - _FAST_WEEKS)
            fast_weeks = list(range(w0, w0 + _FAST_WEEKS))
            for w in fast_weeks:
                lo, hi = first + 7 * w, min(first + 7 * w + 7, days)
                if not train[lo:hi].any():
                    d = next((t for t in template_days if lo <= t < hi), lo)
                    train[d] = True
                    protected.add(d)
    if p.group == "no_rest":
        b = first + round(0.45 * span)
        block = set(range(b, b + _NO_REST_DAYS))
        train[b : b + _NO_REST_DAYS] = True
        train[b - 1] = False
        train[b + _NO_REST_DAYS] = False
    _break_runs(train, protected, block)

    # -- pain ----------------------------------------------------------------------
    sigma = _SIGMA_REVERSE if p.group == "reverse" else _SIGMA
    noise = _ar1(rng, days, _PHI, sigma)
    t = np.arange(days)
    responder_like = p.group in ("responder", "spike", "no_rest")
    flares: list[tuple[int, int, int]] = []  # (spike day, first flare day, length)
    if responder_like:
        p.baseline = float(rng.uniform(6.0, 7.0))
        floor = float(rng.uniform(1.0, 1.8))
        p.floor = floor
        done_before = np.concatenate([[0], np.cumsum(train)[:-1]])
        mean = np.maximum(floor, p.baseline - _RESPONSE_PER_SESSION * done_before)
        p.notes.append(
            f"pain falls {_RESPONSE_PER_SESSION} NRS per completed session from {p.baseline:.2f} "
            f"(floor {floor:.2f}); planned {p.spw}/week"
        )
    elif p.group == "nonresponder":
        p.baseline = float(rng.uniform(6.0, 7.0))
        drift = float(rng.uniform(-0.3, 0.3))
        mean = p.baseline + drift * t / (days - 1)
        p.notes.append(
            f"no training effect; pain flat at {p.baseline:.2f} with drift {drift:+.2f} over the period"
        )
    elif p.group == "control":
        p.baseline = float(rng.uniform(3.0, 6.5))
        drift = float(rng.uniform(-0.8, 0.8))
        mean = p.baseline + drift * t / (days - 1)
        p.notes.append(
            f"control: pain independent of training, {p.baseline:.2f} drifting {drift:+.2f} over the period"
        )
    else:  # reverse
        p.baseline = _REVERSE_BASELINE
        mean = np.full(days, _REVERSE_BASELINE)
        p.notes.append(
            f"reverse: pain flat at {_REVERSE_BASELINE} (σ {sigma}) with no training effect; a planned "
            f"session is skipped the day after a diary value ≥ {_REVERSE_SKIP_AT}"
        )
    p.expected_change = float(mean[-1] - mean[0])
    flare_mean = mean.copy()
    for s in spikes:
        f0 = s + int(rng.integers(1, 3))
        length = int(rng.integers(2, 4))
        flare_mean[f0 : f0 + length] += _FLARE_NRS
        flares.append((s, f0, length))
    pain = np.clip(np.rint(flare_mean + noise), 0, 10).astype(int)
    logged = rng.random(days) >= _SKIP_DIARY
    for _, f0, length in flares:
        logged[f0 : f0 + length] = True
    if p.group == "reverse":
        skip = np.zeros(days, bool)
        skip[1:] = pain[:-1] >= _REVERSE_SKIP_AT
        train &= ~skip

    # -- sessions ------------------------------------------------------------------
    sessions = _sessions(p, train, first, day0, spikes=set(spikes), fast_weeks=fast_weeks)
    by_day = {s.day: s for s in sessions}

    # -- dose ground truth -------------------------------------------------------------
    n_weeks = -(-span // 7)
    p.planned_weekly = np.bincount((np.asarray(template_days, int) - first) // 7, minlength=n_weeks).tolist()
    p.done_weekly = np.bincount((np.flatnonzero(train) - first) // 7, minlength=n_weeks).tolist()
    weekday = (np.flatnonzero(train) - first) % 7
    p.same_week_share = float(np.mean((6 - weekday) / 7)) if weekday.size else None
    if p.same_week_share is not None:
        p.within_slope = -_RESPONSE_PER_SESSION * p.same_week_share if responder_like else 0.0
    if p.vary:
        p.notes.append(
            f"weekly dose varies (regular weeks {p.spw}; regular, deload, holiday and catch-up weeks "
            "drawn independently); planned sessions per programme week "
            f"{', '.join(map(str, p.planned_weekly))}"
            + (
                f"; within-patient slope of the weekly pain change {p.within_slope:+.3f} NRS per extra "
                f"session in the week (−{_RESPONSE_PER_SESSION} × same-week share {p.same_week_share:.3f}), "
                "before the floor"
                if responder_like and p.within_slope is not None
                else ""
            )
        )

    # -- ground-truth events ---------------------------------------------------------
    for s, f0, length in flares:
        ratio, mean28 = _spike_ratio(sessions, s)
        p.events.append(
            {
                "kind": "load_spike",
                "start_date": when(s),
                "end_date": when(s),
                "magnitude": round(ratio, 3),
                "detail": (
                    f"session volume {by_day[s].volume:.0f} kg = {ratio:.2f} × trailing 28-day mean "
                    f"session volume ({mean28:.0f} kg): {_describe_heavy(by_day[s])} in one session"
                ),
            }
        )
        p.events.append(
            {
                "kind": "pain_flare",
                "start_date": when(f0),
                "end_date": when(f0 + length - 1),
                "magnitude": _FLARE_NRS,
                "detail": (
                    f"+{_FLARE_NRS:g} NRS on the mean pain for {length} days, starting {f0 - s} "
                    f"day(s) after the load spike of {when(s).isoformat()}"
                ),
            }
        )
    if spikes:
        p.notes.append(
            f"{len(spikes)} load spike{'s' if len(spikes) > 1 else ''} "
            f"({', '.join(when(s).isoformat() for s in spikes)}), each followed by a "
            f"+{_FLARE_NRS:g} NRS flare"
        )
    if block:
        b = min(block)
        p.events.append(
            {
                "kind": "no_rest_block",
                "start_date": when(b),
                "end_date": when(b + _NO_REST_DAYS - 1),
                "magnitude": float(_NO_REST_DAYS),
                "detail": f"{_NO_REST_DAYS} consecutive training days (rest days before and after)",
            }
        )
        p.notes.append(f"{_NO_REST_DAYS}-day no-rest block from {when(b).isoformat()}")
    if fast_weeks:
        tops = []
        for w in [fast_weeks[0] - 1, *fast_weeks]:
            week_loads = [
                st.weight
                for s in sessions
                if (s.day - first) // 7 == w
                for st in s.sets
                if st.exercise == "Deadlift (Barbell)" and st.set_type == "working" and st.weight
            ]
            tops.append(max(week_loads) if week_loads else float("nan"))
        lo = first + 7 * fast_weeks[0]
        p.events.append(
            {
                "kind": "too_fast_progression",
                "start_date": when(lo),
                "end_date": when(lo + 7 * _FAST_WEEKS - 1),
                "magnitude": _FAST_STEP,
                "detail": (
                    "Deadlift (Barbell) weekly top load "
                    + " → ".join(f"{x:g}" for x in tops)
                    + f" kg: +{_FAST_STEP:.0%}/week (rounded up to 2.5 kg) for {_FAST_WEEKS} consecutive weeks"
                ),
            }
        )
        p.notes.append(f"deadlift +{_FAST_STEP:.0%}/week for {_FAST_WEEKS} weeks from {when(lo).isoformat()}")

    # -- diary rows ------------------------------------------------------------------
    flare_days = {f0 + j for _, f0, length in flares for j in range(length)}
    diary = []
    for d in range(days):
        if not logged[d]:
            continue
        minute = int(rng.integers(19 * 60, 23 * 60))
        if d in flare_days:
            note = _FLARE_NOTES[int(rng.integers(len(_FLARE_NOTES)))]
        elif rng.random() < 0.12:
            note = _PAIN_NOTES[int(rng.integers(len(_PAIN_NOTES)))]
        else:
            note = ""
        diary.append((when(d), minute, int(pain[d]), note))
    return sessions, diary


def _schedule(
    rng: np.random.Generator, days: int, first: int, spw: int, adherence: float, *, vary: bool = False
) -> tuple[np.ndarray, list[int]]:
    """Training days (bool per day) and the planned days (the template's, or with ``vary``
    each programme week's own plan, see :func:`_weekly_plan`)."""
    rotation = int(rng.integers(7))
    if vary:
        template = [j for j in range(7) if (j + rotation) % 7 in _TEMPLATES[spw]]
        weeks = _weekly_plan(rng, spw, template, -(-(days - first) // 7))
        planned = [
            first + 7 * w + j for w, wdays in enumerate(weeks) for j in wdays if first + 7 * w + j < days
        ]
    else:
        planned = [d for d in range(first, days) if (d - first + rotation) % 7 in _TEMPLATES[spw]]
    train = np.zeros(days, bool)
    done = rng.random(len(planned)) < adherence
    moves = np.where(rng.random(len(planned)) < _MOVE_P, rng.choice([-1, 1], len(planned)), 0)
    planned_set = set(planned)
    for d, ok, mv in zip(planned, done, moves, strict=True):
        if not ok:
            continue
        target = d + int(mv)
        if mv and first <= target < days and target not in planned_set and not train[target]:
            train[target] = True
        else:
            train[d] = True
    return train, planned


def _weekly_plan(rng: np.random.Generator, spw: int, template: list[int], n_weeks: int) -> list[list[int]]:
    """Planned weekdays (0 = programme-start weekday) of each programme week when the dose
    varies: every week is independently a regular, deload, holiday or catch-up week."""
    others = [j for j in range(7) if j not in template]
    plan = []
    for _ in range(n_weeks):
        kind = _WEEK_KINDS[int(rng.choice(len(_WEEK_KINDS), p=_WEEK_P))]
        if kind == "regular":
            wdays = list(template)
        elif kind == "deload":  # a single session
            wdays = [int(rng.choice(template))]
        elif kind == "holiday":  # none or one
            wdays = [int(j) for j in rng.choice(template, int(rng.integers(0, 2)), replace=False)]
        else:  # catch-up: the template's days plus others, 5 in all
            extra = _MAX_WEEK - spw
            wdays = [*template, *(int(j) for j in rng.choice(others, extra, replace=False))]
        plan.append(sorted(wdays))
    return plan


def _break_runs(train: np.ndarray, protected: set[int], block: set[int]) -> None:
    """Drop sessions so no run of training days exceeds ``_MAX_RUN`` outside ``block``."""
    run = 0
    for d in range(train.size):
        if not train[d]:
            run = 0
            continue
        if d in block:
            run += 1
            continue
        if run >= _MAX_RUN:
            if d not in protected:
                train[d] = False
                run = 0
                continue
            train[d - 1] = False
            run = 0
        run += 1


def _ar1(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    """Stationary AR(1) series ``e_t = phi·e_{t−1} + N(0, sigma²)``."""
    eps = rng.normal(0.0, sigma, n)
    x = np.empty(n)
    x[0] = eps[0] / math.sqrt(1 - phi**2)
    for i in range(1, n):
        x[i] = phi * x[i - 1] + eps[i]
    return x


def _plates(x: float, *, up: bool = False) -> float:
    """Round to a 2.5 kg step (up when ``up``)."""
    return 2.5 * (math.ceil(x / 2.5 - 1e-9) if up else round(x / 2.5))


def _sessions(
    p: _Patient,
    train: np.ndarray,
    first: int,
    day0: datetime,
    *,
    spikes: set[int],
    fast_weeks: list[int],
) -> list[_Session]:
    """Sets of every training day."""
    rng = p.rng
    w0 = max(30.0, _plates(p.bodyweight * float(rng.uniform(0.45, 0.70))))
    side0 = float(rng.choice([10.0, 12.0]))
    pushups = bool(rng.random() < 0.6)
    hour = int(rng.choice([7, 12, 17, 18]))
    weeks = (train.size - first) // 7 + 1
    base = [_plates(w0 * (1 + _WEEKLY_STEP) ** w) for w in range(weeks)]
    deadlift = list(base)
    if fast_weeks:
        for w in fast_weeks:
            deadlift[w] = _plates(deadlift[w - 1] * (1 + _FAST_STEP), up=True)
        last = fast_weeks[-1]
        for w in range(last + 1, weeks):
            deadlift[w] = _plates(deadlift[last] * (1 + _WEEKLY_STEP) ** (w - last))
    title = (_HEVY_TITLES if p.app == "hevy" else _STRONG_TITLES)[int(rng.integers(4))]
    sessions = []
    for n, d in enumerate(np.flatnonzero(train)):
        d = int(d)
        week = (d - first) // 7
        big = d in spikes
        w, wb = deadlift[week], base[week]
        rpe_on = rng.random() < 0.5
        sets: list[_Set] = []
        if p.app == "hevy":  # Hevy users log their warm-up sets
            sets.append(_Set("Deadlift (Barbell)", "warmup", 20.0, 10, rpe=6.0))
            if w >= 45:
                sets.append(_Set("Deadlift (Barbell)", "warmup", _plates(0.5 * w), 5, rpe=6.0))
        reps = [8, 8, int(rng.choice([7, 8, 8, 8]))]
        if big:
            reps = [10] * 6
        for j, r in enumerate(reps):
            last = j == len(reps) - 1
            if big:
                rpe = (None, None, None, None, 8.5, 9.0)[j]
            else:
                rpe = float(rng.choice([7.0, 7.5, 8.0, 8.5, 9.0])) if last and rpe_on else None
            sets.append(_Set("Deadlift (Barbell)", "working", w, r, rpe=rpe))
        rdl = _Set("Romanian Deadlift (Barbell)", "working", _plates(0.6 * wb), 10)
        bex = _Set("Back Extension (Machine)", "working", _plates(0.5 * wb), 12)
        if big:
            sets += [_copy(rdl) for _ in range(5)] + [_copy(bex) for _ in range(3)]
        else:
            second = rdl if n % 2 == 0 else bex
            sets += [_copy(second) for _ in range(3)]
        skip = int(rng.integers(6)) if rng.random() < 0.12 and not big else -1
        accessories = [
            [_Set("Glute Bridge", "working", None, 12) for _ in range(3)],
            [_Set("Bird Dog", "working", None, 10) for _ in range(3)],
            [_Set("Side Bend (Dumbbell)", "working", side0 + 2 * (week // 6), 12) for _ in range(3)],
            [_Set("Plank", "working", None, None, seconds=min(60, 30 + 5 * (week // 2))) for _ in range(3)],
            [_Set("Push Up", "working", None, int(rng.integers(8, 13))) for _ in range(3)] if pushups else [],
        ]
        for a, group in enumerate(accessories):
            if a != skip:
                sets += group
        stretch = _STRETCHES[n % len(_STRETCHES)]
        sets += [_Set(stretch, "working", None, None, seconds=30) for _ in range(2)]
        minute = hour * 60 + int(rng.integers(0, 50))
        start = day0 + timedelta(days=d, minutes=minute, seconds=int(rng.integers(60)))
        duration = int(rng.integers(95, 115) if big else rng.integers(45, 76)) * 60 + int(rng.integers(60))
        notes = "felt great, added extra sets" if big else ""
        sessions.append(_Session(d, start, duration, title, sets, notes))
    for s in sessions:
        if s.day in spikes:
            _make_spike(s, sessions)
    return sessions


def _make_spike(session: _Session, sessions: list[_Session]) -> None:
    """Add Romanian Deadlift / Back Extension sets until the session's volume is
    ≥ ``_SPIKE_RATIO`` × the trailing 28-day mean (light loads make the fixed
    accessories a larger share of a session)."""
    extra = [st for st in session.sets if st.exercise.startswith(("Romanian", "Back Extension"))]
    k = 0
    while _spike_ratio(sessions, session.day)[0] < _SPIKE_RATIO and k < 12:
        template = extra[0] if k % 2 == 0 else extra[-1]
        same = [i for i, st in enumerate(session.sets) if st.exercise == template.exercise]
        session.sets.insert(same[-1] + 1, _copy(template))
        k += 1


def _describe_heavy(session: _Session) -> str:
    """``Deadlift (Barbell) 6×10, ...`` for the loaded working sets of a session."""
    counts: dict[str, list[int]] = {}
    for st in session.sets:
        if (
            st.weight
            and st.set_type == "working"
            and ("Deadlift" in st.exercise or "Back Ext" in st.exercise)
        ):
            counts.setdefault(st.exercise, []).append(st.reps or 0)
    return ", ".join(f"{name} {len(reps)}×{max(reps)}" for name, reps in counts.items())


def _copy(s: _Set) -> _Set:
    return _Set(s.exercise, s.set_type, s.weight, s.reps, s.seconds, s.rpe, s.rest_s)


def _spike_ratio(sessions: list[_Session], day: int) -> tuple[float, float]:
    """Volume of the session on ``day`` / mean session volume of the 28 days before."""
    this = next(s for s in sessions if s.day == day)
    prior = [s.volume for s in sessions if day - 28 <= s.day < day]
    mean = float(np.mean(prior)) if prior else float("nan")
    return this.volume / mean, mean


# --------------------------------------------------------------------------- writers


def _q(text: str) -> str:
    """Quote a CSV field (RFC 4180)."""
    return '"' + text.replace('"', '""') + '"'


def _num(x: float) -> str:
    """``60`` / ``62.5`` (Hevy style)."""
    return f"{x:g}"


def _write_workout(p: _Patient, sessions: list[_Session]) -> tuple[bytes, int, int, int]:
    if p.app == "hevy":
        return _write_hevy(p, sessions)
    if p.layout == "v1_classic":
        return _write_strong_v1(p, sessions)
    return _write_strong_v3(p, sessions)


def _rest_rows(p: _Patient, sessions: list[_Session]) -> None:
    """Attach rest-timer seconds to some working sets (Strong's ``Rest Timer`` rows)."""
    rng = p.rng
    if rng.random() < 0.4:  # this patient does not use the rest timer
        return
    for s in sessions:
        if rng.random() < 0.3:  # ... or not in this session
            continue
        for a, b in itertools.pairwise(s.sets):
            if a.weight and a.exercise == b.exercise:
                a.rest_s = int(rng.choice([90, 120, 150, 180]))


def _strong_duration(seconds: int) -> str:
    h, m = divmod(seconds // 60, 60)
    return f"{h}h {m}m" if h else f"{m}m"


def _write_strong_v1(p: _Patient, sessions: list[_Session]) -> tuple[bytes, int, int, int]:
    _rest_rows(p, sessions)
    lines = [
        "Date,Workout Name,Duration,Exercise Name,Set Order,Weight,Reps,Distance,Seconds,Notes,Workout Notes,RPE"
    ]
    n_sets = n_rest = 0
    for s in sessions:
        ts = s.start.strftime("%Y-%m-%d %H:%M:%S")
        head = f"{ts},{_q(s.title)},{_strong_duration(s.duration_s)}"
        order: dict[str, int] = {}
        for i, st in enumerate(s.sets):
            order[st.exercise] = order.get(st.exercise, 0) + 1
            weight = f"{st.weight:.1f}" if st.weight else "0.0"
            wnotes = _q(s.workout_notes) if i == 0 else ""
            rpe = f"{st.rpe:.1f}" if st.rpe is not None else ""
            lines.append(
                f"{head},{_q(st.exercise)},{order[st.exercise]},{weight},{st.reps or 0},0,"
                f"{st.seconds or 0},{_q('')},{wnotes},{rpe}"
            )
            n_sets += 1
            if st.rest_s:
                lines.append(f"{head},{_q(st.exercise)},Rest Timer,0,0.0,0,{st.rest_s:.1f},,,")
                n_rest += 1
    return ("\n".join(lines) + "\n").encode(), n_sets + n_rest, n_sets, n_rest


def _write_strong_v3(p: _Patient, sessions: list[_Session]) -> tuple[bytes, int, int, int]:
    _rest_rows(p, sessions)
    rng = p.rng
    header = (
        "Workout #",
        "Date",
        "Workout Name",
        "Duration (sec)",
        "Exercise Name",
        "Set Order",
        "Weight (kg)",
        "Reps",
        "RPE",
        "Distance (meters)",
        "Seconds",
        "Notes",
        "Workout Notes",
    )
    lines = [";".join(_q(h) for h in header)]
    n_sets = n_rest = 0
    for n, s in enumerate(sessions, start=1):
        head = [str(n), s.start.strftime("%Y-%m-%d %H:%M:%S"), s.title, str(s.duration_s)]
        order: dict[str, int] = {}
        for st in s.sets:
            order[st.exercise] = order.get(st.exercise, 0) + 1
            weight = ""
            if st.weight:
                # Strong 2025 leaks float artefacts such as 12.900000000000034
                w = st.weight * (1 + 2**-50) if rng.random() < 0.05 else st.weight
                weight = repr(w)
            cells = [
                *head,
                st.exercise,
                str(order[st.exercise]),
                weight,
                str(st.reps) if st.reps else "",
                f"{st.rpe:g}" if st.rpe is not None else "",
                "",
                str(st.seconds) if st.seconds else "",
                "",
                s.workout_notes,
            ]
            lines.append(";".join(_q(c) for c in cells))
            n_sets += 1
            if st.rest_s:
                rest = [*head, st.exercise, "Rest Timer", "", "", "", "", str(st.rest_s), "", ""]
                lines.append(";".join(_q(c) for c in rest))
                n_rest += 1
    return ("\n".join(lines) + "\n").encode(), n_sets + n_rest, n_sets, n_rest


def _hevy_time(t: datetime) -> str:
    return f"{t.day} {_MONTHS[t.month - 1]} {t.year}, {t:%H:%M}"


def _write_hevy(p: _Patient, sessions: list[_Session]) -> tuple[bytes, int, int, int]:
    rng = p.rng
    zero_duration = bool(rng.random() < 0.5)
    supersets = bool(rng.random() < 0.5)
    lines = [
        ",".join(
            _q(h)
            for h in (
                "title",
                "start_time",
                "end_time",
                "description",
                "exercise_title",
                "superset_id",
                "exercise_notes",
                "set_index",
                "set_type",
                "weight_kg",
                "reps",
                "distance_km",
                "duration_seconds",
                "rpe",
            )
        )
    ]
    n = 0
    for s in sorted(sessions, key=lambda s: s.start, reverse=True):
        start = s.start.replace(second=0)
        end = start + timedelta(seconds=s.duration_s)
        head = f"{_q(s.title)},{_q(_hevy_time(start))},{_q(_hevy_time(end))},{_q(s.workout_notes)}"
        index: dict[str, int] = {}
        cue = "Brace first\\nneutral spine" if rng.random() < 0.05 else ""
        for st in s.sets:
            i = index.get(st.exercise, 0)
            index[st.exercise] = i + 1
            superset = "0" if supersets and st.exercise in ("Bird Dog", "Plank") else ""
            note = cue if st.exercise == "Deadlift (Barbell)" else ""
            duration = str(st.seconds) if st.seconds else ("0" if zero_duration else "")
            lines.append(
                f"{head},{_q(st.exercise)},{superset},{_q(note)},{i},{_q('normal' if st.set_type == 'working' else 'warmup')},"
                f"{_num(st.weight) if st.weight else ''},{st.reps or ''},,{duration},"
                f"{_num(st.rpe) if st.rpe is not None else ''}"
            )
            n += 1
    return ("\n".join(lines) + "\n").encode(), n, n, 0


def _write_pain(diary: list[tuple]) -> tuple[bytes, int, int, int]:
    lines = ["date,time,pain,location,notes"]
    for day, minute, value, note in diary:
        cell = _q(note) if ("," in note or '"' in note) else note
        lines.append(f"{day.isoformat()},{minute // 60:02d}:{minute % 60:02d},{value},lower back,{cell}")
    return ("\n".join(lines) + "\n").encode(), len(diary), len(diary), 0
