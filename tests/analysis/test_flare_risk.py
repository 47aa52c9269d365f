"""Flare risk: causal features, time-ordered validation, and the no-skill gate.

What is proved here:

* **No look-ahead in the features** — features of day *t* are unchanged when every row
  after *t* is deleted or replaced (property test over cut days and alterations), also
  end to end from the raw store tables of the demo cohort.
* **No look-ahead in the validation** — :func:`time_folds` puts every training date
  strictly before every test date (property test), the folds :func:`flare_risk` used
  say so, and a fold's predictions do not move when the labels of its test days (and
  everything later) are changed.
* **The label looks at (t, t + h] only** — hand-made flares on t, t + 1 … t + h + 1.
* **Hidden without skill** — flares placed at random, independent of training.
* **Shown with a planted signal** — a toy cohort where a flare follows every load spike
  1–2 days later: the model beats the base rate and ranks spike days higher.
* On the demo cohort the pooled model's numbers are recomputed from the out-of-fold
  predictions with scikit-learn (Brier, AUC, reliability) and the no-skill forecast
  from the training folds only.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, roc_auc_score
from sklearn.model_selection import TimeSeriesSplit

from toolkit.analysis import flare_risk as fr
from toolkit.analysis import load as ld
from toolkit.analysis import pain as pn
from toolkit.exceptions import OptionError

D0 = dt.date(2024, 1, 1)
FEATURES = [
    "load_7d",
    "load_28d",
    "acwr",
    "spikes_28d",
    "spike_last_3d",
    "streak_days",
    "rest_days_7d",
    "rest_days_28d",
    "sessions_7d",
    "days_since_last_session",
    "pain_today",
]
COLUMNS = ["patient_id", "date", *FEATURES, "flare_next"]


def _day(i: int) -> dt.date:
    return D0 + dt.timedelta(days=i)


# --------------------------------------------------------------------------------------
# A toy cohort built directly as daily frames
# --------------------------------------------------------------------------------------


def toy(
    *,
    patients: dict[str, int],
    seed: int = 0,
    follow: bool = True,
    spike_gap: tuple[int, int] = (9, 16),
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """``daily_load``, ``daily_pain``, ``flares``, ``spikes`` of a toy cohort.

    ``patients`` maps id → days. Training Mon/Wed/Fri at ≈ 3000 kg (±5 %); from day 35 a
    load spike (2.5 × the usual volume, a training day) every 9–15 days. With ``follow``
    a flare episode starts 1 or 2 days after each spike (drawn with the seed) — the
    planted signal; otherwise as many flares are put on random days, independent of
    training. Pain is 2–4 every day (no information).
    """
    rng = np.random.default_rng(seed)
    load_rows, pain_rows, flare_rows, spike_rows = [], [], [], []
    for pid, n_days in patients.items():
        spikes: list[int] = []
        d = 35 + int(rng.integers(0, 7))
        while d < n_days - 3:
            spikes.append(d)
            d += int(rng.integers(*spike_gap))
        training = {i for i in range(n_days) if i % 7 in (0, 2, 4)} | set(spikes)
        streak = 0
        for i in range(n_days):
            train = i in training
            streak = streak + 1 if train else 0
            volume = 3000.0 * rng.normal(1.0, 0.05) * (2.5 if i in spikes else 1.0) if train else 0.0
            load_rows.append(
                {
                    "patient_id": pid,
                    "date": _day(i),
                    "sessions": int(train),
                    "volume_kg": volume,
                    "training_day": train,
                    "logged": True,
                    "rest_day": not train,
                    "streak_days": streak,
                }
            )
            pain_rows.append({"patient_id": pid, "date": _day(i), "pain_mean": float(rng.integers(2, 5))})
        if follow:
            starts = {s + int(rng.integers(1, 3)) for s in spikes}
        else:
            starts = {int(x) for x in rng.choice(np.arange(30, n_days), size=len(spikes), replace=False)}
        flare_rows += [{"patient_id": pid, "date": _day(s)} for s in sorted(starts)]
        spike_rows += [{"patient_id": pid, "date": _day(s)} for s in spikes]
    return (
        pl.DataFrame(load_rows),
        pl.DataFrame(pain_rows),
        pl.DataFrame(flare_rows, schema={"patient_id": pl.String, "date": pl.Date}),
        pl.DataFrame(spike_rows, schema={"patient_id": pl.String, "date": pl.Date}),
    )


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, ...]:
    return toy(patients={"long_a": 420, "long_b": 420, "short_a": 110, "short_b": 110, "short_c": 110})


@pytest.fixture(scope="module")
def demo(cohort_store) -> dict[str, pl.DataFrame]:
    _, store = cohort_store
    sets, sessions, entries = store.table("sets"), store.table("sessions"), store.table("pain_entries")
    daily = ld.daily_load(sets, sessions)
    pain = pn.daily_pain(entries)
    flares = pn.flares(pain)
    return {
        "sets": sets,
        "sessions": sessions,
        "pain_entries": entries,
        "daily_load": daily,
        "daily_pain": pain,
        "flares": flares,
        "features": fr.flare_features(daily, pain, flares),
    }


@pytest.fixture(scope="module")
def demo_risk(demo) -> fr.FlareRisk:
    return fr.flare_risk(demo["features"])


# --------------------------------------------------------------------------------------
# Features: definitions on a hand-checkable series
# --------------------------------------------------------------------------------------


def test_features_have_the_documented_columns_and_hand_values() -> None:
    """10 days, training on even days at 1000 kg, window 8: load_7d on day 6 (Jan 7)
    = days 0–6 → training days 0, 2, 4, 6 = 4000 kg; rest_days_7d = 3; sessions_7d = 4;
    days_since_last_session on day 7 = 1; load_8d on day 7 = days 0–7 = 4000 kg."""
    days = [_day(i) for i in range(10)]
    train = [i % 2 == 0 for i in range(10)]
    dl = pl.DataFrame(
        {
            "patient_id": "p",
            "date": days,
            "sessions": [int(t) for t in train],
            "volume_kg": [1000.0 * t for t in train],
            "training_day": train,
            "logged": True,
            "rest_day": [not t for t in train],
            "streak_days": [int(t) for t in train],
        }
    )
    dp = pl.DataFrame({"patient_id": "p", "date": days, "pain_mean": [3.0] * 9 + [6.0]})
    fl = pl.DataFrame({"patient_id": ["p"], "date": [_day(9)]})
    out = fr.flare_features(dl, dp, fl, window_days=8)
    assert out.columns == ["patient_id", "date", *[f.replace("28", "8") for f in FEATURES], "flare_next"]
    by_day = {r["date"]: r for r in out.iter_rows(named=True)}
    assert by_day[_day(5)]["load_7d"] is None  # 6 calendar days so far: missing, not small
    assert by_day[_day(6)]["load_7d"] == 4000.0
    assert by_day[_day(6)]["rest_days_7d"] == 3 and by_day[_day(6)]["sessions_7d"] == 4
    assert by_day[_day(7)]["days_since_last_session"] == 1 and by_day[_day(6)]["days_since_last_session"] == 0
    assert by_day[_day(7)]["load_8d"] == 4000.0 and by_day[_day(6)]["load_8d"] is None  # 7 < 8 days
    # flare starts on day 9, horizon 2 → days 7 and 8 are positive; day 8 + 2 > last day → no label
    assert by_day[_day(7)]["flare_next"] is True and _day(8) not in by_day
    assert by_day[_day(6)]["flare_next"] is False


def test_unlogged_days_make_windows_null_not_zero() -> None:
    """Missing ≠ zero (DOMAIN.md pitfall 4): a window over an unlogged day is unknown."""
    dl, dp, fl, _ = toy(patients={"p": 80})
    gap = pl.col("date").is_between(_day(40), _day(41))
    dl = dl.with_columns(
        logged=pl.when(gap).then(False).otherwise(pl.col("logged")),
        volume_kg=pl.when(gap).then(None).otherwise(pl.col("volume_kg")),
    )
    out = fr.flare_features(dl, dp, fl)
    assert out.filter(pl.col("date").is_between(_day(40), _day(41))).is_empty()  # unlogged: no row
    week_after = out.filter(pl.col("date").is_between(_day(42), _day(47)))
    assert week_after["load_7d"].null_count() == week_after.height
    assert out.filter(pl.col("date") == _day(48))["load_7d"].null_count() == 0


def test_spike_features_mark_the_planted_spikes(planted) -> None:
    dl, dp, fl, spikes = planted
    out = fr.flare_features(dl, dp, fl)
    on_spike = out.join(spikes, on=["patient_id", "date"], how="semi")
    assert on_spike.height > 0 and on_spike["spike_last_3d"].all()
    assert (on_spike["spikes_28d"] >= 1).all()


# --------------------------------------------------------------------------------------
# No look-ahead (a): features of t do not depend on anything after t
# --------------------------------------------------------------------------------------


def _alter_after(frames: tuple[pl.DataFrame, ...], cut: dt.date, seed: int) -> tuple[pl.DataFrame, ...]:
    """Replace every value after ``cut``: new training days and volumes, pain, flares."""
    dl, dp, fl = frames
    rng = np.random.default_rng(seed)
    later = pl.col("date") > cut
    n = dl.height
    train = pl.Series(rng.random(n) < 0.5)
    dl = dl.with_columns(
        training_day=pl.when(later).then(train).otherwise(pl.col("training_day")),
        volume_kg=pl.when(later).then(pl.Series(rng.uniform(0, 20000, n))).otherwise(pl.col("volume_kg")),
        sessions=pl.when(later).then(pl.Series(rng.integers(0, 3, n))).otherwise(pl.col("sessions")),
        streak_days=pl.when(later).then(pl.Series(rng.integers(0, 9, n))).otherwise(pl.col("streak_days")),
    )
    dp = dp.with_columns(
        pain_mean=pl.when(later)
        .then(pl.Series(rng.integers(0, 11, dp.height)).cast(pl.Float64))
        .otherwise(pl.col("pain_mean"))
    )
    extra = pl.DataFrame({"patient_id": fl["patient_id"].unique().sort(), "date": cut + dt.timedelta(days=1)})
    fl = pl.concat(
        [fl.filter(~later), extra, fl.filter(later).with_columns(pl.col("date") + dt.timedelta(3))]
    )
    return dl, dp, fl


@settings(max_examples=30, deadline=None)
@given(
    cut_day=st.integers(min_value=0, max_value=119),
    mode=st.sampled_from(["delete", "alter"]),
    seed=st.integers(0, 99),
)
def test_features_at_t_ignore_everything_after_t(planted, cut_day: int, mode: str, seed: int) -> None:
    dl, dp, fl, _ = planted
    frames = tuple(f.filter(pl.col("patient_id").is_in(["short_a", "short_b"])) for f in (dl, dp, fl))
    cut = _day(cut_day)
    full = fr.flare_features(*frames, include_unlabelled=True)
    if mode == "delete":
        changed = tuple(f.filter(pl.col("date") <= cut) for f in frames)
    else:
        changed = _alter_after(frames, cut, seed)
    part = fr.flare_features(*changed, include_unlabelled=True)
    keys = ["patient_id", "date"]
    before = full.filter(pl.col("date") <= cut).sort(keys)
    after = part.filter(pl.col("date") <= cut).sort(keys)
    # Same days, same feature values (labels of the last `horizon` days may now be unknown).
    assert_frame_equal(before.drop("flare_next"), after.drop("flare_next"))
    settled = pl.col("date") <= cut - dt.timedelta(days=2)
    assert_frame_equal(before.filter(settled), after.filter(settled))


@pytest.mark.parametrize("cut", [dt.date(2025, 2, 19), dt.date(2025, 3, 28), dt.date(2025, 4, 15)])
def test_features_from_the_raw_tables_ignore_data_after_t(demo, cut: dt.date) -> None:
    """End to end: delete every set, session and pain entry after ``cut`` in the store
    tables, rebuild daily load, daily pain, flares and the features: every day present in
    both has identical features, and identical labels up to cut − horizon. (Days after
    the last session before ``cut`` are not in the truncated training calendar yet.)"""
    early = pl.col("local_date") <= cut
    daily = ld.daily_load(demo["sets"].filter(early), demo["sessions"].filter(early))
    pain = pn.daily_pain(demo["pain_entries"].filter(early))
    part = fr.flare_features(daily, pain, pn.flares(pain), include_unlabelled=True)
    full = fr.flare_features(
        demo["daily_load"], demo["daily_pain"], demo["flares"], include_unlabelled=True
    ).filter(pl.col("date") <= cut)
    both = full.join(part, on=["patient_id", "date"], how="inner", suffix="_cut")
    assert both.height > 0.9 * full.height
    for col in FEATURES:
        assert both[col].equals(both[f"{col}_cut"], check_names=False), col
    # A label known from the truncated data is the label of the full data. (It is unknown
    # when the diary's last day before the cut is < t + 2: the end of data is the last rating.)
    settled = both.filter(pl.col("flare_next_cut").is_not_null())
    assert settled.height > 0.9 * both.filter(pl.col("date") <= cut - dt.timedelta(days=2)).height
    assert settled["flare_next"].equals(settled["flare_next_cut"], check_names=False)


# --------------------------------------------------------------------------------------
# No look-ahead (c): the label is (t, t + horizon] only
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flare_offset", "horizon", "expected"),
    [
        (0, 2, False),
        (1, 2, True),
        (2, 2, True),
        (3, 2, False),
        (-1, 2, False),
        (3, 3, True),
        (1, 1, True),
        (2, 1, False),
    ],
)
def test_label_is_a_flare_start_in_t_to_t_plus_horizon(
    flare_offset: int, horizon: int, expected: bool
) -> None:
    """Day t = day 40 of a toy series; one flare starts at t + offset. Only 1 ≤ offset ≤
    horizon makes ``flare_next`` true on t — never a flare on t itself or before it."""
    dl, dp, _, _ = toy(patients={"p": 60})
    t = _day(40)
    fl = pl.DataFrame({"patient_id": ["p"], "date": [t + dt.timedelta(days=flare_offset)]})
    out = fr.flare_features(dl, dp, fl, horizon_days=horizon)
    assert out.filter(pl.col("date") == t)["flare_next"].to_list() == [expected]
    # exactly the `horizon` days before the flare start are positive
    positive = out.filter(pl.col("flare_next"))["date"].to_list()
    start = t + dt.timedelta(days=flare_offset)
    assert positive == [start - dt.timedelta(days=k) for k in range(horizon, 0, -1)]


def test_label_needs_a_rating_in_the_horizon_and_data_to_the_end() -> None:
    """No rating on t + 1 … t + 2 → unknown (an unrated day cannot show a flare), not 0;
    the last 2 diary days have no label; include_unlabelled keeps them as null."""
    dl, dp, fl, _ = toy(patients={"p": 60})
    dp = dp.filter(~pl.col("date").is_between(_day(41), _day(42)))
    out = fr.flare_features(dl, dp, fl)
    assert _day(40) not in out["date"].to_list() and _day(39) in out["date"].to_list()
    assert out["date"].max() == _day(57)
    kept = fr.flare_features(dl, dp, fl, include_unlabelled=True)
    assert kept.filter(pl.col("flare_next").is_null())["date"].to_list() == [_day(40), _day(58), _day(59)]


# --------------------------------------------------------------------------------------
# No look-ahead (b): time-ordered folds
# --------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=60), min_size=1, max_size=120),
    n_splits=st.integers(min_value=2, max_value=6),
)
def test_time_folds_train_strictly_before_test(offsets: list[int], n_splits: int) -> None:
    dates = [_day(o) for o in offsets]
    distinct = sorted(set(dates))
    if len(distinct) < n_splits + 1:
        with pytest.raises(OptionError, match="distinct dates"):
            fr.time_folds(dates, n_splits)
        return
    folds = fr.time_folds(dates, n_splits)
    assert len(folds) == n_splits
    arr = np.array(dates, dtype="datetime64[D]")
    previous_test_end = None
    for train, test in folds:
        assert len(train) and len(test) and not set(train) & set(test)
        assert arr[train].max() < arr[test].min()  # strictly earlier
        # expanding window: every row dated before the test block is in training
        assert set(train) == set(np.flatnonzero(arr < arr[test].min()))
        if previous_test_end is not None:
            assert arr[test].min() > previous_test_end
        previous_test_end = arr[test].max()
    assert previous_test_end == arr.max()
    # one row per date: exactly scikit-learn's TimeSeriesSplit on the sorted days
    if len(distinct) == len(dates) and dates == distinct:
        for (a, b), (c, d) in zip(folds, TimeSeriesSplit(n_splits).split(dates), strict=True):
            assert a.tolist() == c.tolist() and b.tolist() == d.tolist()


def test_flare_risk_folds_are_time_ordered_and_predictions_blind_to_test_labels(planted) -> None:
    """Flipping every label from fold 1's test block onwards does not move fold 1's
    predictions or its no-skill forecast: the fold never saw them."""
    dl, dp, fl, _ = planted
    feats = fr.flare_features(dl, dp, fl).filter(pl.col("patient_id").str.starts_with("short"))
    res = fr.flare_risk(feats, n_bootstrap=0)
    assert (res.folds["train_end"] < res.folds["test_start"]).all()
    first = res.folds.filter(pl.col("fold") == 1).row(0, named=True)
    flipped = feats.with_columns(
        flare_next=pl.when(pl.col("date") >= first["test_start"])
        .then(~pl.col("flare_next"))
        .otherwise(pl.col("flare_next"))
    )
    res2 = fr.flare_risk(flipped, n_bootstrap=0)
    keep = ["patient_id", "date", "probability", "no_skill_probability"]
    p1 = res.predictions.filter(pl.col("fold") == 1).select(keep)
    p2 = res2.predictions.filter(pl.col("fold") == 1).select(keep)
    assert p1.height > 0
    assert_frame_equal(p1, p2)
    for row in res.predictions.join(res.folds.drop("patient_id"), on=["scope", "fold"]).iter_rows(named=True):
        assert row["test_start"] <= row["date"] <= row["test_end"]


# --------------------------------------------------------------------------------------
# Planted signal: shown, beats the baseline, ranks spike days higher
# --------------------------------------------------------------------------------------


def test_planted_spike_signal_beats_the_baseline_per_patient_and_pooled(planted) -> None:
    dl, dp, fl, _ = planted
    feats = fr.flare_features(dl, dp, fl, include_unlabelled=True)
    res = fr.flare_risk(feats)
    scope = dict(res.scope.select("patient_id", "scope").iter_rows())
    assert scope == {
        "long_a": "patient",
        "long_b": "patient",
        "short_a": "pooled",
        "short_b": "pooled",
        "short_c": "pooled",
    }
    v = res.validation
    assert v["scope"].to_list() == ["pooled", "patient", "patient"]
    assert v["beats_baseline"].all() and v["shown"].all()
    assert (v["brier_skill_score"] > 0.2).all() and (v["auc"] > 0.8).all()
    assert (v["bss_ci_low"] > 0).all()
    # the spike carries the signal: the spike indicator and the ACWR (which jumps with a
    # 2.5× session) have the largest positive standardised coefficients of every model
    for (_scope, _pid), coef in res.coefficients.group_by("scope", "patient_id"):
        top = coef.sort("coefficient", descending=True)["feature"].head(2).to_list()
        assert set(top) == {"spike_last_3d", "acwr"}
    # spike days (and the day after) get higher out-of-fold risk than other days
    oof = res.predictions.join(feats.select("patient_id", "date", "spike_last_3d"), on=["patient_id", "date"])
    means = oof.group_by("spike_last_3d").agg(pl.col("probability").mean()).sort("spike_last_3d")
    assert means["probability"][1] > 3 * means["probability"][0]
    # shown → latest risk for every patient, on the latest day (label unknown yet)
    assert sorted(res.latest_risk["patient_id"].to_list()) == sorted(scope)
    last = feats.group_by("patient_id").agg(pl.col("date").max())
    assert_frame_equal(
        res.latest_risk.select("patient_id", "date").sort("patient_id"),
        last.sort("patient_id"),
        check_dtypes=False,
    )
    assert res.latest_risk["probability"].is_between(0, 1).all()


# --------------------------------------------------------------------------------------
# No signal: hidden
# --------------------------------------------------------------------------------------


def test_hidden_when_flares_are_independent_of_training() -> None:
    """Flares on random days (seed 0), independent of the training log and of pain: the
    model does not beat the base rate, so it is not shown and no risk is reported."""
    dl, dp, fl, _ = toy(patients={f"p{i}": 140 for i in range(6)}, seed=0, follow=False)
    res = fr.flare_risk(fr.flare_features(dl, dp, fl, include_unlabelled=True))
    assert (res.scope["scope"] == "pooled").all()  # < 120 labelled days each
    v = res.validation.row(0, named=True)
    assert v["scope"] == "pooled" and v["brier_skill_score"] <= 0
    assert v["beats_baseline"] is False and v["shown"] is False
    assert res.latest_risk.is_empty() and res.latest_risk.columns == [
        "patient_id",
        "date",
        "probability",
        "scope",
    ]
    assert any("hidden" in n and "does not beat the no-skill base rate" in n for n in res.notes)
    assert res.reliability.height > 0  # the evidence is still reported


def test_without_signal_the_gate_rarely_opens() -> None:
    """Over 10 seeds of random flares, skill is ≤ 0 on average and the model is shown in
    a minority of cohorts — BSS > 0 by chance happens (that is why the bootstrap interval
    is reported), but it is the exception."""
    shown, skill = [], []
    for seed in range(10):
        dl, dp, fl, _ = toy(patients={f"p{i}": 140 for i in range(6)}, seed=seed, follow=False)
        v = fr.flare_risk(fr.flare_features(dl, dp, fl), n_bootstrap=0).validation.row(0, named=True)
        shown.append(v["shown"])
        skill.append(v["brier_skill_score"])
    assert np.mean(skill) < 0
    assert sum(shown) <= 3


# --------------------------------------------------------------------------------------
# Demo cohort: what must hold whatever the skill
# --------------------------------------------------------------------------------------


def test_demo_cohort_validation_is_well_formed(demo, demo_risk) -> None:
    """The 120-day demo has no patient with 120 labelled days, so everyone is pooled.
    Only 2 of 23 patients have planted spike→flare pairs (4 events) among ~90 flare days
    that are noise blips; the pooled model is close to the base rate (the test does not
    pin whether it is shown). What must hold: numbers recomputed from the out-of-fold
    predictions agree with scikit-learn, probabilities in [0, 1], Brier ≤ 1."""
    res = demo_risk
    assert (res.scope["scope"] == "pooled").all() and res.scope.height == 23
    v = res.validation.row(0, named=True)
    assert (v["scope"], v["patient_id"]) == ("pooled", "all")
    oof = res.predictions
    y = oof["flare_next"].cast(pl.Int64).to_numpy()
    p = oof["probability"].to_numpy()
    assert ((p >= 0) & (p <= 1)).all() and 0 <= v["brier"] <= 1 and 0 <= v["brier_no_skill"] <= 1
    assert v["brier"] == pytest.approx(brier_score_loss(y, p))
    assert v["brier_no_skill"] == pytest.approx(brier_score_loss(y, oof["no_skill_probability"].to_numpy()))
    assert v["brier_skill_score"] == pytest.approx(1 - v["brier"] / v["brier_no_skill"])
    assert v["auc"] == pytest.approx(roc_auc_score(y, p))
    # shown only when the whole 95 % interval of the skill score is above 0
    assert v["shown"] == v["beats_baseline"] == (v["bss_ci_low"] is not None and v["bss_ci_low"] > 0)
    assert v["bss_ci_low"] <= v["brier_skill_score"] <= v["bss_ci_high"]
    assert (v["n_scored"], v["n_scored_events"]) == (len(y), int(y.sum()))
    # reliability table: 5 quantile bins, exactly scikit-learn's calibration_curve
    rel = res.reliability
    prob_true, prob_pred = calibration_curve(y, p, n_bins=5, strategy="quantile")
    assert rel["bin"].to_list() == list(range(1, len(prob_true) + 1)) and rel.height <= 5
    np.testing.assert_allclose(rel["observed_rate"].to_numpy(), prob_true)
    np.testing.assert_allclose(rel["mean_predicted"].to_numpy(), prob_pred)
    assert rel["n"].sum() == len(y)
    assert rel["observed_rate"].is_between(0, 1).all() and rel["mean_predicted"].is_between(0, 1).all()
    # coefficients: one standardised coefficient per feature, not patient_id
    assert res.coefficients["feature"].to_list() == FEATURES
    assert (res.latest_risk.height > 0) == v["shown"]
    json.dumps(res.to_dict())


def test_no_skill_forecast_is_the_training_folds_base_rate(demo, demo_risk) -> None:
    """For each fold, the no-skill probability equals the flare rate of the rows dated
    train_start … train_end (recomputed from the features) — not the overall rate."""
    feats = demo["features"].drop_nulls()
    overall = feats["flare_next"].mean()
    for fold in demo_risk.folds.iter_rows(named=True):
        train = feats.filter(pl.col("date").is_between(fold["train_start"], fold["train_end"]))
        rate = train["flare_next"].mean()
        assert train.height == fold["n_train"] and fold["train_base_rate"] == pytest.approx(rate)
        used = demo_risk.predictions.filter(pl.col("fold") == fold["fold"])["no_skill_probability"].unique()
        assert used.to_list() == [pytest.approx(rate)]
        test = feats.filter(pl.col("date").is_between(fold["test_start"], fold["test_end"]))
        assert test.height == fold["n_test"]
    assert (
        demo_risk.folds["train_base_rate"].n_unique() > 1
        and overall not in demo_risk.folds["train_base_rate"]
    )


def test_demo_spike_patients_features_flag_their_planted_spikes(cohort_store, demo) -> None:
    cohort, _ = cohort_store
    planted_spikes = cohort.planted_events.filter(pl.col("kind") == "load_spike").select(
        "patient_id", pl.col("start_date").alias("date")
    )
    on = demo["features"].join(planted_spikes, on=["patient_id", "date"], how="semi")
    assert on.height == planted_spikes.height and on["spike_last_3d"].all()


# --------------------------------------------------------------------------------------
# Contract: empty / too little input, options, no mutation, pandas
# --------------------------------------------------------------------------------------


def test_empty_input_gives_empty_features_and_a_risk_with_a_note(demo) -> None:
    empty = {k: demo[k].clear() for k in ("daily_load", "daily_pain", "flares")}
    feats = fr.flare_features(empty["daily_load"], empty["daily_pain"], empty["flares"])
    assert feats.is_empty() and feats.columns == COLUMNS
    res = fr.flare_risk(feats)
    assert res.validation.is_empty() and res.latest_risk.is_empty() and res.coefficients.is_empty()
    assert res.scope.is_empty() and res.reliability.is_empty() and res.folds.is_empty()
    assert any("no model" in n for n in res.notes)
    assert res.to_dict()["validation"] == []


def test_too_little_input_gives_no_model_and_a_note(planted) -> None:
    dl, dp, fl, _ = planted
    feats = fr.flare_features(dl, dp, fl).filter(pl.col("patient_id") == "short_a").drop_nulls().head(4)
    res = fr.flare_risk(feats)
    assert res.validation.is_empty() and res.latest_risk.is_empty()
    assert any("too little data" in n or "nothing to learn" in n for n in res.notes)
    no_events = fr.flare_features(dl, dp, fl.clear())
    res = fr.flare_risk(no_events)
    assert res.validation.is_empty() and any("no flare" in n for n in res.notes)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window_days": 7}, r"window_days must be an int ≥ 8, got 7"),
        ({"window_days": 28.0}, r"window_days must be an int"),
        ({"horizon_days": 0}, r"horizon_days must be an int ≥ 1, got 0"),
        ({"horizon_days": True}, r"horizon_days must be an int"),
        ({"include_unlabelled": "yes"}, r"include_unlabelled must be a bool"),
    ],
)
def test_feature_options_are_validated(planted, kwargs, match) -> None:
    dl, dp, fl, _ = planted
    with pytest.raises(OptionError, match=match):
        fr.flare_features(dl, dp, fl, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min_events_per_patient": 0}, r"min_events_per_patient must be an int ≥ 1, got 0"),
        ({"min_days_per_patient": -5}, r"min_days_per_patient must be an int ≥ 1"),
        ({"n_splits": 1}, r"n_splits must be an int ≥ 2, got 1"),
        ({"random_state": -1}, r"random_state must be an int ≥ 0"),
        ({"C": 0}, r"C must be a finite number > 0, got 0"),
        ({"C": float("inf")}, r"C must be a finite number > 0"),
        ({"n_bootstrap": -1}, r"n_bootstrap must be an int ≥ 0"),
        ({"block_days": 0}, r"block_days must be an int ≥ 1"),
    ],
)
def test_risk_options_are_validated(planted, kwargs, match) -> None:
    dl, dp, fl, _ = planted
    with pytest.raises(OptionError, match=match):
        fr.flare_risk(fr.flare_features(dl, dp, fl), **kwargs)


def test_bad_inputs_raise_option_error(planted) -> None:
    dl, dp, fl, _ = planted
    with pytest.raises(OptionError, match="daily_load lacks column"):
        fr.flare_features(dl.drop("logged"), dp, fl)
    with pytest.raises(OptionError, match="one row per patient_id and date"):
        fr.flare_features(dl, pl.concat([dp, dp.head(1)]), fl)
    with pytest.raises(OptionError, match="must be a polars or pandas DataFrame"):
        fr.flare_features([1, 2], dp, fl)
    feats = fr.flare_features(dl, dp, fl)
    with pytest.raises(OptionError, match="must be numeric or boolean"):
        fr.flare_risk(feats.with_columns(note=pl.lit("x")))
    with pytest.raises(OptionError, match="features lacks column"):
        fr.flare_risk(feats.drop("flare_next"))
    with pytest.raises(OptionError, match="at least one feature column"):
        fr.flare_risk(feats.select("patient_id", "date", "flare_next"))
    with pytest.raises(OptionError, match="n_splits must be an int ≥ 2"):
        fr.time_folds([D0], 1)


def test_inputs_not_mutated_and_pandas_accepted(planted) -> None:
    dl, dp, fl, _ = planted
    frames = [f.filter(pl.col("patient_id").str.starts_with("short")) for f in (dl, dp, fl)]
    pandas_in = [f.to_pandas() for f in frames]
    copies = [f.copy() for f in pandas_in]
    feats = fr.flare_features(*frames)
    assert_frame_equal(fr.flare_features(*pandas_in), feats)
    for before, after in zip(copies, pandas_in, strict=True):
        assert before.equals(after)
    feats_pd = feats.to_pandas()
    feats_copy = feats_pd.copy()
    res_pd = fr.flare_risk(feats_pd, n_bootstrap=50)
    assert feats_pd.equals(feats_copy)
    res_pl = fr.flare_risk(feats, n_bootstrap=50)
    assert_frame_equal(res_pd.validation, res_pl.validation)
    assert_frame_equal(res_pd.predictions, res_pl.predictions)


def test_flare_risk_is_frozen_and_serialisable(demo_risk) -> None:
    with pytest.raises(AttributeError):
        demo_risk.notes = []  # type: ignore[misc]
    d = demo_risk.to_dict()
    assert set(d) == {"scope", "validation", "reliability", "coefficients", "latest_risk", "folds", "notes"}
    assert isinstance(json.loads(json.dumps(d))["folds"][0]["train_start"], str)
