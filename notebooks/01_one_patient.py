# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # One patient, end to end
#
# A real lifter's Strong export (classic iOS layout, 1,903 sets, Dec 2020 → Sep 2021)
# plus a pain diary kept beside it. We ingest both, then ask what a physiotherapist
# asks: is pain improving by a clinically meaningful amount, how is the training dosed
# and progressed, is there enough rest, where is it overdone, and does training move
# pain — or does pain move training?
#
# Everything below calls `toolkit`; the notebook holds no analysis of its own.

# %%
import os
import tempfile
from pathlib import Path

import polars as pl

from toolkit import ReadOptions, Store
from toolkit.analysis import analyse_patient
from toolkit.datasets.real import genuine_export
from toolkit.report import figures

workdir = Path(os.environ.get("RECOVERY_NOTEBOOK_TMP") or tempfile.mkdtemp())
store = Store(workdir / "one_patient.duckdb")

# %% [markdown]
# ## 1. Ingest
# Strong's classic iOS export carries **no weight unit**; this lifter used kilograms,
# so we say so (`weight_unit="kg"`) and the report records it as an assumption. Every
# row is accounted for: accepted, duplicate or quarantined with a reason.

# %%
files = [genuine_export("strong_ios_v1_2020-2021.csv"), genuine_export("strong_v1_patient_pain.csv")]
reports = store.ingest(files, patient_id="lifter", options=ReadOptions(tz="Europe/Athens", weight_unit="kg"))
store.upsert_patient("lifter", bodyweight_kg=82.0, planned_sessions_per_week=3)
pl.DataFrame(
    [
        {
            k: r.to_dict()[k]
            for k in ("file", "format", "rows_read", "rows_accepted", "rows_duplicate", "rows_quarantined")
        }
        for r in reports
    ]
)

# %%
for r in reports:
    print(Path(r.file).name, "→", *r.warnings, sep="\n  ")

# %% [markdown]
# ## 2. Pain: is it improving enough to matter?
# Baseline is the mean of the first 7 logged days, current the mean of the last 7.
# The minimal clinically important difference for the 0–10 numeric rating scale is
# 2 points or 30 % (Ostelo et al. 2008). The trend is a regression slope with
# autocorrelation-robust (Newey–West) confidence interval.

# %%
analysis = analyse_patient(store, "lifter")
summary = analysis.to_dict()
summary["pain"]

# %%
figures.pain_figure(
    analysis.daily_pain,
    outcome=analysis.pain_outcome,
    change_points=analysis.change_points,
    flares=analysis.flares,
    daily_load=analysis.daily_load,
)

# %% [markdown]
# ## 3. Training: dose, progression and rest
# Sessions and rest days per week, the load progression of the main lifts in kg/week
# (a heavy deadlift should start light and climb gradually), and the acute:chronic
# workload ratio — a descriptive spike detector, not a risk verdict.

# %%
summary["load"]

# %%
figures.progression_figure(analysis.weekly_top_load, analysis.progression)

# %%
figures.acwr_figure(analysis.acwr)

# %% [markdown]
# ## 4. Flags
# Load spikes (a session ≥ 1.5 × the trailing 4-week mean), too-fast progression
# (> 10 %/week for two weeks), no rest (≥ 6 training days in a row) and pain flares
# (≥ 2 points above the trailing 7-day median), each with its date and reason.

# %%
analysis.flags.select("date", "kind", "detail")

# %%
figures.flags_timeline(analysis.flags)

# %% [markdown]
# ## 5. Does training move pain — or pain move training?
# For each driver and lag, the within-patient association with pain (adjusted for the
# recovery trend and the pain before), with a 95 % CI, and a Benjamini–Hochberg
# q-value across everything tested. The reverse direction sits beside it: a patient
# who skips sessions when in pain would otherwise look as if training caused relief.
# These are **associations**, not causes.

# %%
analysis.relations.filter(pl.col("significant")).select(
    "direction", "driver", "lag_label", "effect", "ci_low", "ci_high", "q_value"
)

# %%
for sentence in summary["significant_relations"] or [
    "No training–pain relation is significant for this patient."
]:
    print("•", sentence)

# %%
analysis.rest_strength.select("exercise", "n_pairs", "kg_per_rest_day", "ci_low", "ci_high", "sentence")
