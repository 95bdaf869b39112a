"""An export touches only what Foveal wrote: exporting again keeps the user's own files, a destination that is
not a folder is a message, and a class name labels.txt cannot hold is refused rather than shifting every line."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from foveal.core.errors import ConfigError, DatasetError
from foveal.core.export import place as placing
from foveal.core.export.examples import example_source, read_labels
from foveal.core.export.export import _check_labels, export_model
from foveal.core.export.writers import FORMATS
from foveal.core.models.saved import Classifier, load_classifier
from tests.reliability.conftest import run_cli

EXPORT_FILES = {"model.keras", "labels.txt", "predict_example.py", "export_check.json"}


@pytest.fixture(scope="module")
def clf(trained_run: Path) -> Classifier:
    """The shared run's classifier, loaded once for the whole file."""
    return load_classifier(trained_run)


def _snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: a file's SHA-256, a link's target, or what else it is."""
    found = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_symlink():
            found[rel] = "link to " + os.readlink(p)
        elif p.is_file():
            found[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            found[rel] = "folder" if p.is_dir() else "other"
    return found


def _add_users_files(folder: Path) -> dict[str, str]:
    """Notes and a results folder put into an export folder after the export; returns their snapshot."""
    (folder / "notes.txt").write_text("which images fooled it\n")
    (folder / "results" / "deeper").mkdir(parents=True)
    (folder / "results" / "scores.csv").write_text("image,score\na.png,0.9\n")
    (folder / "results" / "deeper" / "plot.png").write_bytes(b"\x89PNG not really")
    return {k: v for k, v in _snapshot(folder).items() if k.split("/")[0] in ("notes.txt", "results")}


# ---- exporting again keeps the user's files --------------------------------------------------------------------

def test_exporting_again_keeps_the_users_files(clf, tmp_path):
    out = tmp_path / "export"
    export_model(clf, "keras", out, n_check=2)
    mine = _add_users_files(out)
    result = export_model(clf, "keras", out, n_check=2)
    assert result.passed
    assert {k: v for k, v in _snapshot(out).items() if k in mine} == mine
    assert set(_snapshot(out)) == set(mine) | EXPORT_FILES
    assert sorted(json.loads((out / "export_check.json").read_text())["files"]) == sorted(EXPORT_FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["export"]  # no work folder left beside it


def test_exporting_again_into_the_runs_own_export_folder_keeps_the_users_files(trained_run, tmp_path):
    run = Path(shutil.copytree(trained_run, tmp_path / "run"))
    assert run_cli("export", run, "--format", "keras").rc == 0
    mine = _add_users_files(run / "export" / "keras")
    assert run_cli("export", run, "--format", "keras").rc == 0
    after = _snapshot(run / "export" / "keras")
    assert {k: v for k, v in after.items() if k in mine} == mine and set(after) == set(mine) | EXPORT_FILES


def test_a_failed_export_kept_aside_again_keeps_the_users_files(clf, tmp_path, monkeypatch):
    out = tmp_path / "export"
    # No probability is 2: this export disagrees with Foveal on every image.
    monkeypatch.setattr("foveal.core.export.export.runner", lambda fmt, path: lambda image: np.array([2.0, -1.0]))
    assert not export_model(clf, "keras", out, n_check=2).passed
    mine = _add_users_files(tmp_path / "export.failed")
    result = export_model(clf, "keras", out, n_check=2)
    assert not result.passed and Path(result.folder) == tmp_path / "export.failed"
    after = _snapshot(tmp_path / "export.failed")
    assert {k: v for k, v in after.items() if k in mine} == mine and set(after) == set(mine) | EXPORT_FILES


def test_a_users_folder_where_the_failed_export_would_go_is_refused_before_any_work(clf, tmp_path):
    (tmp_path / "export.failed").mkdir()
    (tmp_path / "export.failed" / "thesis.docx").write_bytes(b"years of work")
    with pytest.raises(ConfigError, match="export.failed already exists and is not an earlier Foveal export"):
        export_model(clf, "keras", tmp_path / "export", n_check=2)
    assert sorted(_snapshot(tmp_path)) == ["export.failed", "export.failed/thesis.docx"]


def test_a_users_folder_named_like_the_old_work_folder_is_left_alone(clf, tmp_path):
    (tmp_path / "export.writing").mkdir()
    (tmp_path / "export.writing" / "draft.txt").write_text("mine")
    before = _snapshot(tmp_path / "export.writing")
    assert export_model(clf, "keras", tmp_path / "export", n_check=2).passed
    assert _snapshot(tmp_path / "export.writing") == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export", "export.writing"]


def test_an_export_into_a_link_to_a_folder_writes_inside_and_keeps_the_link(clf, tmp_path):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    assert export_model(clf, "keras", tmp_path / "link", n_check=2).passed
    assert (tmp_path / "link").is_symlink() and set(_snapshot(tmp_path / "real")) == EXPORT_FILES


# ---- placing an export: only the listed files of an earlier one go ---------------------------------------------

def _fake_export(folder: Path, files: dict[str, bytes], listed: list[str] | None) -> None:
    for rel, data in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(data)
    check: dict = {"format": "savedmodel", "passed": True}
    if listed is not None:
        check["files"] = listed
    (folder / "export_check.json").write_text(json.dumps(check))


SAVEDMODEL = {"saved_model/saved_model.pb": b"old graph", "saved_model/fingerprint.pb": b"old",
              "saved_model/variables/variables.index": b"old index",
              "saved_model/variables/variables.data-00000-of-00001": b"old weights",
              "labels.txt": b"a\nb\n", "predict_example.py": b"old example"}


@pytest.mark.parametrize("listed", [True, False], ids=["files-listed", "export-made-before-the-list"])
def test_placing_an_export_removes_only_the_files_foveal_wrote(tmp_path, listed):
    final, work = tmp_path / "savedmodel", tmp_path / "work"
    final.mkdir()
    _fake_export(final, SAVEDMODEL, [*SAVEDMODEL, "export_check.json"] if listed else None)
    (final / "saved_model" / "assets").mkdir()
    (final / "saved_model" / "assets" / "mine.txt").write_text("put there by the user")
    (final / "notes.txt").write_text("mine")
    new = {"saved_model/saved_model.pb": b"new graph", "labels.txt": b"a\nb\n", "predict_example.py": b"new"}
    work.mkdir()
    _fake_export(work, new, [*new, "export_check.json"])
    with pytest.raises(ConfigError, match="saved_model holds files Foveal did not write"):
        placing.place(work, final, [*new, "export_check.json"])
    assert (final / "saved_model" / "variables" / "variables.index").read_bytes() == b"old index"  # untouched
    (final / "saved_model" / "assets" / "mine.txt").unlink()
    placing.place(work, final, [*new, "export_check.json"])
    assert _snapshot(final).keys() == {"notes.txt", "saved_model", "labels.txt", "predict_example.py",
                                       "export_check.json", "saved_model/saved_model.pb"}
    assert (final / "saved_model" / "saved_model.pb").read_bytes() == b"new graph" and not work.exists()


def test_a_tampered_list_of_files_never_reaches_other_files(tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("keep")
    final, work = tmp_path / "keras", tmp_path / "work"
    final.mkdir()
    (final / "results").mkdir()
    (final / "results" / "scores.csv").write_text("keep")
    (final / "model.keras").symlink_to(outside)
    tampered = [["not", "a", "name"], "../outside.txt", "results/scores.csv", "results", "/etc/hosts", "model.keras",
                "labels.txt", "export_check.json"]
    _fake_export(final, {"labels.txt": b"a\n"}, tampered)
    work.mkdir()
    _fake_export(work, {"labels.txt": b"b\n"}, ["labels.txt", "export_check.json"])
    placing.place(work, final, ["labels.txt", "export_check.json"])
    assert outside.read_text() == "keep" and (final / "results" / "scores.csv").read_text() == "keep"
    assert (final / "model.keras").is_symlink() and (final / "labels.txt").read_bytes() == b"b\n"


# ---- a destination that is not a folder -------------------------------------------------------------------------

def _target(kind: str, tmp_path: Path) -> Path:
    if kind == "root":
        return Path("/")
    if kind == "device":
        return Path("/dev/null")
    if kind == "file":
        (tmp_path / "model.txt").write_text("a file of the user's")
        return tmp_path / "model.txt"
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe")
        return tmp_path / "pipe"
    (tmp_path / "elsewhere.txt").write_text("linked to")
    (tmp_path / "link").symlink_to(tmp_path / ("elsewhere.txt" if kind == "link to a file" else "nothing"))
    return tmp_path / "link"


def _identity(path: Path, own: bool) -> tuple[int, ...]:
    """What ``path`` itself is; its times too when it is the test's own (others may list / or write /dev/null)."""
    st = os.lstat(path)
    return (st.st_mode, st.st_ino, st.st_size, *((st.st_mtime_ns, st.st_ctime_ns) if own else ()))


@pytest.mark.parametrize("kind", ["root", "file", "link to a file", "link to nothing", "fifo", "device"])
def test_an_export_to_something_that_is_not_a_folder_is_a_message_and_touches_nothing(trained_run, tmp_path, kind):
    target = _target(kind, tmp_path)
    own = kind not in ("root", "device")
    identity = _identity(target, own)
    before = _snapshot(tmp_path)
    done = run_cli("export", trained_run, "--format", "keras", "--out", target)
    assert done.traceback is None and done.rc == 2, done.traceback or done.err
    assert f"The export folder {target} is " in done.err and "Choose a new or empty folder" in done.err
    assert _snapshot(tmp_path) == before and _identity(target, own) == identity
    assert not Path(f"{target}.writing").exists() and not Path(f"{target}.failed").exists()


# ---- class names labels.txt cannot hold --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["benign\nold", "benign\r", "benign\x1b[31m", "benign\udce9", "benign\u2028old",
                                  "benign\x85"])
def test_a_class_name_labels_txt_cannot_hold_is_refused_naming_the_class(clf, tmp_path, name):
    odd = dataclasses.replace(clf, classes=(name, *clf.classes[1:]))
    with pytest.raises(DatasetError, match="Rename the class folder") as caught:
        export_model(odd, "keras", tmp_path / "export", n_check=2)
    assert repr(name) in str(caught.value) and not list(tmp_path.iterdir())


def test_labels_that_do_not_read_back_as_the_class_names_are_refused():
    with pytest.raises(DatasetError, match=r"class 'b\\nc': line 2 reads 'b'"):
        _check_labels(["a", "b", "c"], ("a", "b\nc"))
    _check_labels(["a", " b ", "c#1"], ("a", " b ", "c#1"))


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_example_reads_labels_txt_as_the_export_check_does(tmp_path, fmt):
    names = [" leading space ", "été", "C#1", "名前", "a,b", ""]
    (tmp_path / "labels.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    line = next(ln for ln in example_source(fmt).splitlines() if ln.startswith("LABELS = "))
    scope: dict = {"HERE": tmp_path}
    exec(line, scope)  # the example's own line, run as the example runs it
    assert scope["LABELS"] == read_labels(tmp_path) == names
