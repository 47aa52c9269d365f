"""Every dashboard page under Streamlit's AppTest, on a copy of the demo cohort's store:
the pages render without an exception, the URL keeps the view, an upload shows its
accounting before anything is written and then commits, and errors are messages, not
tracebacks. Also: who may serve the dashboard where (``toolkit.dashboard``)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import FIXTURES, REAL
from toolkit import dashboard as tkd
from toolkit.exceptions import OptionError
from toolkit.store import Store

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
NEW_PATIENT = "New patient…"
TIMEOUT = 60
_UPLOAD_PREVIEW = "upload.preview"  # dashboards/_state.py Keys.UPLOAD_PREVIEW


@pytest.fixture
def store(cohort_store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A private copy of the demo cohort's store, named by $RECOVERY_STORE."""
    _, built = cohort_store
    path = tmp_path / "store.duckdb"
    shutil.copyfile(built.path, path)
    monkeypatch.setenv("RECOVERY_STORE", str(path))
    monkeypatch.delenv(tkd.PASSWORD_ENV, raising=False)
    monkeypatch.delenv(tkd.MAX_UPLOAD_ENV, raising=False)
    return Store(path)


def _app(**query: str) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def _page(page: str, **query: str) -> AppTest:
    """Open a page directly (its URL path is its file name), without running the default page."""
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    for key, value in query.items():
        at.query_params[key] = value
    return at.switch_page(f"views/{page}").run()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for kind in (at.info, at.warning, at.error, at.success):
        parts += [e.value for e in kind]
    return "\n".join(str(p) for p in parts)


def _by_label(widgets, label: str):
    return next(w for w in widgets if w.label == label)


def _plotly_specs(at: AppTest) -> list[str]:
    return [el.proto.spec for el in at.get("plotly_chart")]


# --------------------------------------------------------------------------------------
# Patient (the default page)
# --------------------------------------------------------------------------------------


def test_patient_page_shows_pain_first_then_training_flags_and_questionnaires(store: Store) -> None:
    at = _app(patient="spike_01")
    _ok(at)
    assert at.title[0].value == "Patient spike_01"
    specs = _plotly_specs(at)
    assert len(specs) == 5  # pain, load, progression, ACWR, flags (no questionnaires here)
    assert any("No questionnaire scores" in c.value for c in at.caption)
    assert "Daily pain" in specs[0] and "Trend (7-day EWMA)" in specs[0] and "MCID band" in specs[0]
    assert "Training load (kg)" in specs[0]  # training overlaid on the pain chart
    assert "reference band" in specs[3] and "descriptive spike detector, not a risk verdict" in specs[3]
    labels = [m.label for m in at.metric]
    assert labels[:2] == ["Pain now", "Clinically important?"]
    assert at.metric[1].value == "Yes"
    # The flag count is drawn as "…" with the first look and filled in once the rest of the
    # analysis is done: it ends as the number of flags.
    flags = next(m for m in at.metric if m.label == "Flags")
    assert flags.value.isdigit() and int(flags.value) >= 1  # spike_01 has its planted spikes
    assert at.query_params["patient"] == "spike_01"
    # The planted load spike → pain relation, in plain words with its CI, and the caveat.
    text = _texts(at)
    if "not computed" not in text:  # relations arrive with the analysis engine, part 2
        assert "load spike" in text and "95 % CI" in text
        assert "not proof of cause" in text
    assert "Demo data" not in _texts(at)  # a store built without the demo marker


def test_patient_page_period_comes_from_and_stays_in_the_url(store: Store) -> None:
    at = _app(patient="responder_01", **{"from": "2025-02-01", "to": "2025-03-15"})
    _ok(at)
    assert at.title[0].value == "Patient responder_01"
    assert any("2025-02-01 → 2025-03-15" in c.value for c in at.caption)
    assert at.query_params == {"patient": "responder_01", "from": "2025-02-01", "to": "2025-03-15"}
    # "Whole log" drops the period from the URL.
    _by_label(at.sidebar.button, "Whole log").click().run()
    _ok(at)
    assert at.query_params == {"patient": "responder_01"}
    assert not any("part of the log" in c.value for c in at.caption)
    # Choosing another patient drops the period of the first one.
    at.query_params.update({"from": "2025-02-01", "to": "2025-03-15"})
    at.run()
    assert at.query_params["from"] == "2025-02-01"
    at.sidebar.selectbox[0].set_value("control_01").run()
    _ok(at)
    assert at.title[0].value == "Patient control_01"
    assert at.query_params == {"patient": "control_01"}


def test_patient_page_renders_relations_in_plain_language_when_present(store: Store, monkeypatch) -> None:
    import polars as pl

    import toolkit.analysis.summary

    real = toolkit.analysis.summary.complete_analysis  # the page's analysis past its first look
    sentence = "On the 1–2 days after a load spike, pain is 1.8 points higher (95 % CI 1.1 to 2.5)"

    def with_relations(*args, **kwargs):
        out = real(*args, **kwargs)
        out.relations = pl.DataFrame(
            {
                "direction": ["training→pain", "pain→training"],
                "driver": ["load spike", "training day"],
                "lag_label": ["1–2", "1"],
                "effect": [1.8, 0.01],
                "ci_low": [1.1, -0.05],
                "ci_high": [2.5, 0.07],
                "q_value": [0.01, 0.8],
                "significant": [True, False],
                "n": [110, 110],
                "sentence": [sentence, "No clear association between pain and training the next day."],
            }
        )
        return out

    monkeypatch.setattr(toolkit.analysis.summary, "complete_analysis", with_relations)
    at = _app(patient="spike_02")
    _ok(at)
    text = _texts(at)
    assert f"- {sentence}" in [m.value for m in at.markdown] or sentence in text
    assert "No clear association between pain and training the next day." not in [
        m.value for m in at.markdown
    ]
    assert "associations" in text and "not proof of cause" in text
    table = next(df.value for df in at.dataframe if "direction" in df.value.columns)
    assert set(table["direction"]) == {"training→pain", "pain→training"}


def test_patient_without_data_or_with_pain_only_still_renders(store: Store) -> None:
    store.upsert_patient("empty_01")
    store.ingest(
        [FIXTURES / "pain" / "pain_vas.csv", FIXTURES / "proms" / "proms.csv"], patient_id="pain_only_01"
    )
    for pid, charts in (("empty_01", 5), ("pain_only_01", 6)):
        at = _app(patient=pid)
        _ok(at)
        assert at.title[0].value == f"Patient {pid}"
        assert any("no training sessions" in c.value for c in at.caption)
        specs = _plotly_specs(at)
        assert len(specs) == charts
    assert "Questionnaires against their MCIDs" in specs[-1]  # pain_only_01 has ODI/RMDQ scores
    for page in ("report.py", "data_quality.py"):
        _ok(_page(page, patient="empty_01"))


def test_empty_store_loads_the_demo_cohort_and_says_so(tmp_path: Path, monkeypatch) -> None:
    import toolkit.datasets
    from toolkit.datasets import synthetic_cohort

    monkeypatch.setattr(
        toolkit.datasets,
        "demo_cohort",
        lambda: synthetic_cohort(n_responders=1, n_nonresponders=0, n_controls=0),
    )
    path = tmp_path / "fresh" / "store.duckdb"
    monkeypatch.setenv("RECOVERY_STORE", str(path))
    monkeypatch.delenv(tkd.PASSWORD_ENV, raising=False)
    at = _app()
    _ok(at)
    assert "Demo data" in _texts(at)
    assert at.title[0].value.startswith("Patient ")
    assert len(_plotly_specs(at)) >= 5
    assert tkd.demo_patients(path) == set(Store(path).patients()["patient_id"].to_list())


# --------------------------------------------------------------------------------------
# Cohort, report, data quality
# --------------------------------------------------------------------------------------


def test_cohort_page_one_sortable_row_per_patient_linking_to_the_patient(store: Store) -> None:
    at = _page("cohort.py")
    _ok(at)
    assert at.title[0].value == "Cohort"
    table = at.dataframe[0].value
    assert len(table) == 23
    assert table["open"].str.startswith("./?patient=").all()
    assert {"baseline", "current", "mcid_reached", "adherence_pct", "flags", "last_log"} <= set(table.columns)
    links = at.get("page_link")
    assert links and "patient=" in links[0].proto.query_string
    # The clinic-level model: pooled effects in words and numbers, own beside pooled slopes.
    text = _texts(at)
    assert "Across 23 patients" in text and "not effects of training" in text
    assert {"term", "estimate", "ci_low", "ci_high"} <= set(at.dataframe[1].value.columns)
    assert {"own_slope", "pooled_slope"} <= set(at.dataframe[2].value.columns)


def test_report_page_offers_downloads_for_the_shown_patient(store: Store) -> None:
    at = _page("report.py", patient="no_rest_01")
    _ok(at)
    assert at.title[0].value == "Report — no_rest_01"
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Download the analysis (JSON)" in labels
    try:
        import toolkit.report.render  # noqa: F401  (the report issue's renderer)
    except ImportError:
        assert "issue 6" in _texts(at)
    else:  # rendered only on click (deferred), so the page stays fast
        assert {"Download PDF", "Download HTML"} <= set(labels)


def test_data_quality_page_lists_uploads_quarantine_and_maps_an_unknown_exercise(store: Store) -> None:
    store.ingest(
        [FIXTURES / "strong" / "v1_german.csv", FIXTURES / "hevy" / "hevy_messy.csv"],
        patient_id="de_01",
    )
    # Its URL path (data-quality) is not its file name: open the app, then switch.
    at = _app(patient="de_01").switch_page("views/data_quality.py").run()
    _ok(at)
    assert at.title[0].value == "Data quality — de_01"
    uploads = at.dataframe[0].value
    assert sorted(uploads["file_name"]) == ["hevy_messy.csv", "v1_german.csv"]
    quarantine = at.dataframe[2].value
    assert {"bad_date", "wrong_field_count"} <= set(quarantine["reason"])
    unknown = at.dataframe[3].value
    assert "Kreuzheben (Langhantel)" in set(unknown["exercise_raw"])

    _by_label(at.selectbox, "Name as exported").set_value("Kreuzheben (Langhantel)")
    _by_label(at.selectbox, "is the catalogue exercise").set_value("Deadlift")
    _by_label(at.button, "Map and re-process").click().run()
    _ok(at)
    assert "Mapped 'Kreuzheben (Langhantel)' to Deadlift" in _texts(at)
    sets = store.table("sets", patient_id="de_01")
    assert set(sets.filter(sets["exercise_raw"] == "Kreuzheben (Langhantel)")["exercise"]) == {"Deadlift"}
    assert tkd.user_catalogue_path(store.path).is_file()


# --------------------------------------------------------------------------------------
# Upload
# --------------------------------------------------------------------------------------


def _upload_page(patient: str | None = None) -> AppTest:
    at = _page("upload.py")
    _ok(at)
    if patient is not None:
        at.selectbox(key="upload.patient").set_value(NEW_PATIENT).run()
        at.text_input(key="upload.new_patient").set_value(patient).run()
    return at


def _files(*paths: Path) -> list[tuple[str, bytes, str]]:
    return [(p.name, p.read_bytes(), "text/csv") for p in paths]


def test_upload_shows_each_files_accounting_before_commit_then_commits(store: Store) -> None:
    workout = REAL / "strong_v4_small.csv"
    pain = FIXTURES / "pain" / "strong_v1_patient_pain.csv"
    messy = FIXTURES / "hevy" / "hevy_messy.csv"
    at = _upload_page("upload_01")
    at.file_uploader[0].set_value(_files(workout, pain, messy)).run()
    _ok(at)
    # The accounting of every file, and nothing stored yet.
    text = _texts(at)
    assert "Row accounting: 6 read = 6 new + 0 already stored + 0 quarantined." in text
    assert "Row accounting: 230 read = 230 new + 0 already stored + 0 quarantined." in text
    assert "Row accounting: 15 read = 7 new + 0 already stored + 8 quarantined." in text
    assert "detected **strong** (v4_2025_10), workout" in text
    assert any("weights read as kg" in w.value for w in at.warning)  # the assumed unit is said
    quarantined = [df.value for df in at.dataframe]
    assert quarantined and "bad_date" in set(quarantined[0]["reason"])
    assert "upload_01" not in Store(store.path).patients()["patient_id"].to_list()

    commit = next(b for b in at.button if b.label.startswith("Add 3 file(s) to upload_01"))
    commit.click().run()
    _ok(at)
    # Add opens the patient's charts, which say first what was added.
    assert at.title[0].value == "Patient upload_01"
    assert [s.value for s in at.success] == [
        "Added to **upload_01**:\n\n- strong_v4_small.csv: 6 new, 0 already stored, 0 quarantined\n"
        "- strong_v1_patient_pain.csv: 230 new, 0 already stored, 0 quarantined\n"
        "- hevy_messy.csv: 7 new, 0 already stored, 8 quarantined"
    ]
    assert len(_plotly_specs(at)) >= 5
    back = at.get("page_link")[0].proto
    assert back.label == "Upload more files for upload_01" and back.query_string == "patient=upload_01"
    sets = store.table("sets", patient_id="upload_01")
    assert sets.height == 6 + 7
    assert store.table("pain_entries", patient_id="upload_01").height == 230
    at.run()  # said once: a later run of the page shows no banner
    assert not at.success

    at.switch_page("views/upload.py").run()
    _ok(at)
    assert at.file_uploader[0].value == []  # the uploader was emptied after the commit

    # The same files again: "already ingested", nothing new.
    at.file_uploader[0].set_value(_files(workout, pain)).run()
    _ok(at)
    text = _texts(at)
    assert "already ingested" in text
    assert "Row accounting: 6 read = 0 new + 6 already stored + 0 quarantined." in text
    assert any(b.label.endswith("(nothing new)") for b in at.button)


def test_add_has_the_first_look_computed_once_while_the_patient_page_opens(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Add starts the patient's first look in a background thread as it opens the patient
    # page; the page asks the cache for the same value and waits for that thread rather
    # than computing it a second time (Streamlit computes a cached value once).
    import threading
    import time

    computed: list[str] = []
    first_look = tkd.patient_first_look

    def slow_first_look(store_, pid, **kwargs):
        computed.append(threading.current_thread().name)
        time.sleep(0.5)  # long enough for the page to ask while the thread computes
        return first_look(store_, pid, **kwargs)

    monkeypatch.setattr(tkd, "patient_first_look", slow_first_look)
    at = _upload_page("upload_06")
    at.file_uploader[0].set_value(_files(REAL / "strong_v4_small.csv")).run()
    next(b for b in at.button if b.label.startswith("Add 1 file(s) to upload_06")).click().run()
    _ok(at)
    assert at.title[0].value == "Patient upload_06"
    assert len(_plotly_specs(at)) >= 5
    assert computed == ["recovery-warm-upload_06"]


def test_upload_of_a_refused_file_is_a_message_and_the_others_still_commit(store: Store) -> None:
    at = _upload_page("upload_02")
    bad = FIXTURES / "pain" / "pain_unknown_header.csv"
    at.file_uploader[0].set_value(_files(bad, REAL / "strong_v4_small.csv")).run()
    _ok(at)
    assert any("pain_unknown_header.csv" in e.value and "unrecognised header" in e.value for e in at.error)
    commit = next(b for b in at.button if b.label.startswith("Add 1 file(s) to upload_02"))
    commit.click().run()
    _ok(at)
    assert store.table("sets", patient_id="upload_02").height == 6


def _count_reads(monkeypatch) -> list[str]:
    """The names of the files the store reads and normalises, as it reads them."""
    reads: list[str] = []
    prepare = Store._prepare

    def counted(files, *args, **kwargs):
        reads.extend(f[0] if isinstance(f, tuple) else str(f) for f in files)
        return prepare(files, *args, **kwargs)

    monkeypatch.setattr(Store, "_prepare", staticmethod(counted))
    return reads


def test_upload_add_writes_what_the_check_read_counting_duplicates_at_the_write(
    store: Store, monkeypatch
) -> None:
    reads = _count_reads(monkeypatch)
    workout = REAL / "strong_v4_small.csv"
    at = _upload_page("upload_04")
    at.file_uploader[0].set_value(_files(workout)).run()
    _ok(at)
    assert "Row accounting: 6 read = 6 new + 0 already stored + 0 quarantined." in _texts(at)
    assert reads == ["strong_v4_small.csv"]
    # Meanwhile another tab stores the same file: the check's "6 new" is stale.
    store.ingest([workout], patient_id="upload_04")
    del reads[:]
    next(b for b in at.button if b.label.startswith("Add 1 file(s) to upload_04")).click().run()
    _ok(at)
    assert reads == []  # Add wrote what the check had read
    assert any("strong_v4_small.csv: 0 new, 6 already stored" in s.value for s in at.success)
    assert store.table("sets", patient_id="upload_04").height == 6
    assert store.table("uploads", patient_id="upload_04").height == 2
    assert _UPLOAD_PREVIEW not in at.session_state  # what was read is dropped once written


def test_upload_is_checked_again_when_the_catalogue_changed_before_add(
    store: Store, monkeypatch, tmp_path: Path
) -> None:
    reads = _count_reads(monkeypatch)
    f = tmp_path / "generic.csv"
    f.write_text("date,exercise,reps,weight,unit\n2025-01-06,Mystery Hinge,5,60,kg\n")
    at = _upload_page("upload_05")
    at.file_uploader[0].set_value(_files(f)).run()
    _ok(at)
    assert any("not in the catalogue" in w.value for w in at.warning)
    assert reads == ["generic.csv"]
    at.run()  # a rerun with nothing changed reuses the check
    assert reads == ["generic.csv"]
    tkd.add_exercise_alias(store.path, "Mystery Hinge", "Deadlift")  # e.g. in another tab
    at.run()
    _ok(at)
    assert reads == ["generic.csv", "generic.csv"]  # read again with the new catalogue
    assert not any("not in the catalogue" in w.value for w in at.warning)
    next(b for b in at.button if b.label.startswith("Add 1 file(s) to upload_05")).click().run()
    _ok(at)
    assert store.table("sets", patient_id="upload_05")["exercise"].to_list() == ["Deadlift"]


def test_upload_over_the_size_cap_is_refused_with_a_clear_message(store: Store, monkeypatch) -> None:
    monkeypatch.setenv(tkd.MAX_UPLOAD_ENV, "1")
    at = _upload_page("upload_03")
    big = b"date,pain\n" + b"2025-01-01,5\n" * 120_000  # 1.6 MB
    at.file_uploader[0].set_value([("huge.csv", big, "text/csv")]).run()
    _ok(at)
    assert any("huge.csv" in e.value and "the limit is 1 MB" in e.value for e in at.error)
    assert not any(b.label.startswith("Add") for b in at.button)


def test_upload_names_the_patient_under_the_file_input_once_chosen(store: Store) -> None:
    at = _upload_page()
    assert not any("Files are checked for patient" in c.value for c in at.caption)
    at.selectbox(key="upload.patient").set_value(NEW_PATIENT).run()
    at.text_input(key="upload.new_patient").set_value("upload_03").run()
    _ok(at)
    # The sign that the rerun of typing the id is over (the browser harness waits for it).
    assert any("Files are checked for patient **upload_03**." in c.value for c in at.caption)


def test_patient_figure_builds_each_chart_of_the_page_by_name(store: Store) -> None:
    view = tkd.patient_view(store, "spike_01")
    assert tkd.PATIENT_FIGURES[0] == "pain"  # the page's first chart is warmed first
    for name in tkd.PATIENT_FIGURES:
        fig = tkd.patient_figure(view, name)
        assert fig is None if name == "prom" and view.outcome_measures.height == 0 else fig.data, name
    with pytest.raises(OptionError, match="no patient figure 'nope'"):
        tkd.patient_figure(view, "nope")


def test_first_look_is_the_fast_part_of_the_patient_view(store: Store, monkeypatch) -> None:
    """The page's headline and pain chart come from the first look: the same numbers and
    chart as the full view, without the slow families (relations, flags, progression)."""
    import toolkit.analysis.summary as summary

    first = tkd.patient_first_look(store, "spike_01")
    view = tkd.patient_view(store, "spike_01")
    whole = view.analysis.to_dict()
    assert first.basics.headline() == {"pain": whole["pain"], "load": whole["load"]}
    assert list(first.basics.messages) == whole["messages"]
    assert (first.first_date, first.last_date) == (view.first_date, view.last_date)
    assert tkd.first_look_figure(first).to_dict() == tkd.patient_figure(view, "pain").to_dict()
    # built on the first look: the same view, and the store is not read again
    monkeypatch.setattr(summary, "patient_tables", lambda *a, **k: pytest.fail("store read again"))
    again = tkd.patient_view(store, "spike_01", first=first)
    assert again.analysis.to_dict() == whole
    assert again.e1rm.equals(view.e1rm) and again.outcome_measures.equals(view.outcome_measures)
    with pytest.raises(OptionError, match="the first look is of 'spike_01', not 'spike_02'"):
        tkd.patient_view(store, "spike_02", first=first)


def test_first_look_leaves_the_slow_families_out(store: Store, monkeypatch) -> None:
    import toolkit.analysis.flags as fl
    import toolkit.analysis.relations as rl

    def slow(*args, **kwargs):
        raise AssertionError("computed in the first look")

    for module, name in (
        (rl, "relations"),
        (rl, "rest_and_strength"),
        (fl, "standard_flags"),
        (fl, "safe_doses"),
    ):
        monkeypatch.setattr(module, name, slow)
    first = tkd.patient_first_look(store, "spike_01")
    assert first.basics.daily_pain.height and first.basics.session_load.height
    with pytest.raises(AssertionError, match="computed in the first look"):
        tkd.patient_view(store, "spike_01", first=first)  # the rest of the analysis does


def test_first_look_of_a_period(store: Store) -> None:
    view = tkd.patient_view(store, "spike_01")
    start = view.first_date + dt.timedelta(days=30)
    end = start + dt.timedelta(days=40)
    first = tkd.patient_first_look(store, "spike_01", start=start, end=end)
    assert (first.basics.start, first.basics.end) == (start, end)
    assert first.basics.daily_pain["date"].is_between(start, end).all()
    part = tkd.patient_view(store, "spike_01", start=start, end=end, first=first)
    assert (
        part.analysis.to_dict()
        == tkd.patient_view(store, "spike_01", start=start, end=end).analysis.to_dict()
    )
    with pytest.raises(OptionError, match="--from must be on or before --to"):
        tkd.patient_first_look(store, "spike_01", start=end, end=start)


def test_upload_needs_a_patient_before_checking(store: Store) -> None:
    at = _upload_page()
    at.selectbox(key="upload.patient").set_value(NEW_PATIENT).run()
    at.file_uploader[0].set_value(_files(REAL / "strong_v4_small.csv")).run()
    _ok(at)
    assert any("Choose a patient" in i.value for i in at.info)


# --------------------------------------------------------------------------------------
# Login and serving
# --------------------------------------------------------------------------------------


def test_password_gate_comes_before_any_page(store: Store, monkeypatch) -> None:
    monkeypatch.setenv(tkd.PASSWORD_ENV, "correct horse")
    at = _app(patient="spike_01")
    _ok(at)
    assert not _plotly_specs(at) and at.title[0].value == "Recovery dashboard"
    at.text_input[0].set_value("wrong").run()
    assert any("Wrong password" in e.value for e in at.error)
    assert not _plotly_specs(at)
    at.text_input[0].set_value("correct horse").run()
    _ok(at)
    assert at.title[0].value == "Patient spike_01"


def test_serve_refuses_a_non_local_host_without_a_login(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(tkd.PASSWORD_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(OptionError, match=r"refusing to serve patient data on '0\.0\.0\.0' without a login"):
        tkd.serve(tmp_path / "s.duckdb", host="0.0.0.0")
    assert tkd.login_mode("127.0.0.1") == "none"
    assert tkd.login_mode("::1") == "none"
    monkeypatch.setenv(tkd.PASSWORD_ENV, "pw")
    assert tkd.login_mode("0.0.0.0") == "password"
    monkeypatch.delenv(tkd.PASSWORD_ENV)
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[auth]\nredirect_uri = "http://x/oauth2callback"\ncookie_secret = "s"\n')
    assert tkd.login_mode("10.1.2.3") == "oidc"
    with pytest.raises(OptionError, match="port"):
        tkd.serve(tmp_path / "s.duckdb", port=0)


def test_streamlit_command_binds_the_given_address_headless_with_the_upload_cap() -> None:
    cmd = tkd.streamlit_command(port=8600, host="127.0.0.1", max_upload_mb=50)
    assert cmd[1:4] == ["-m", "streamlit", "run"] and cmd[4].endswith("dashboards/app.py")
    args = dict(zip(cmd[5::2], cmd[6::2], strict=True))
    assert args["--server.address"] == "127.0.0.1"
    assert args["--server.port"] == "8600"
    assert args["--server.headless"] == "true"
    assert args["--server.maxUploadSize"] == "50"
    assert args["--browser.gatherUsageStats"] == "false"


def test_exercise_alias_goes_to_a_checked_user_catalogue_beside_the_store(tmp_path: Path) -> None:
    store_path = tmp_path / "w" / "store.duckdb"
    with pytest.raises(OptionError, match="not an exercise of the catalogue"):
        tkd.add_exercise_alias(store_path, "Kreuzheben", "Not An Exercise")
    path = tkd.add_exercise_alias(store_path, "Kreuzheben (Langhantel)", "Deadlift")
    assert path == tmp_path / "w" / "exercise_catalogue.csv"
    before = path.read_bytes()
    # A name that already belongs to another exercise is refused; the file is unchanged.
    with pytest.raises(OptionError, match="may belong to one exercise only"):
        tkd.add_exercise_alias(store_path, "RDL", "Deadlift")
    assert path.read_bytes() == before
    from toolkit.ingest import map_exercises

    mapped = map_exercises(["Kreuzheben (Langhantel)"], tkd.user_catalogue(store_path))
    assert mapped["exercise"].to_list() == ["Deadlift"]
