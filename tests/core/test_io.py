"""The write chokepoint: refuses dataset folders, writes atomically, leaves nothing half-written."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from foveal.core import io, paths
from foveal.core.errors import WriteError


@pytest.fixture
def dataset(tmp_path):
    d = tmp_path / "data"
    (d / "a").mkdir(parents=True)
    paths.protect(d)
    return d


@pytest.mark.parametrize("write", [
    lambda p: io.write_json(p / "x.json", {}),
    lambda p: io.write_text(p / "a" / "x.csv", "x"),
    lambda p: io.write_bytes(p / "x.bin", b"x"),
    lambda p: io.make_dirs(p / "runs" / "r1"),
    lambda p: io.remove_tree(p / "a"),
    lambda p: io.move(p / "a", p.parent / "b"),
])
def test_every_kind_of_write_inside_a_dataset_is_refused(dataset, write):
    before = sorted(x.name for x in dataset.rglob("*"))
    with pytest.raises(WriteError, match="inside the dataset folder.*never writes"):
        write(dataset)
    assert sorted(x.name for x in dataset.rglob("*")) == before


def test_links_into_the_dataset_are_refused_too(dataset, tmp_path):
    (tmp_path / "alias").symlink_to(dataset)
    with pytest.raises(WriteError):
        io.write_text(tmp_path / "alias" / "x.txt", "x")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "settings.json"
    io.write_json(target, {"v": 1})
    with pytest.raises(ZeroDivisionError), io.open_atomic(target) as fh:
        fh.write('{"v": 2')
        raise ZeroDivisionError
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_leftovers_of_killed_writes_are_removed(tmp_path):
    (tmp_path / ".foveal-tmp-123-project.json").write_text("half")
    (tmp_path / ".project.json.abc.tmp").write_text("half")  # the older writer's name
    (tmp_path / "project.json").write_text("{}")
    assert sorted(io.remove_leftovers(tmp_path)) == [".foveal-tmp-123-project.json", ".project.json.abc.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_default_run_folder_is_never_inside_the_current_dataset(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(dataset / "a")
    inside = paths.default_run_dir("MobileNetV2")
    assert not paths.is_inside(inside, dataset) and paths.is_inside(inside, tmp_path / "xdg")
    monkeypatch.chdir(tmp_path)
    assert paths.default_run_dir("MobileNetV2").parent == tmp_path / "foveal-runs"


def test_os_errors_become_messages_naming_the_folder(tmp_path):
    import errno

    full = io.write_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path / "model.keras", 12_500_000)
    assert str(full) == f"Not enough space in {tmp_path} (needs about 12 MB). Free some space there or choose " \
                        "another folder."
    denied = io.write_error(OSError(errno.EACCES, "Permission denied"), tmp_path / "x")
    assert str(denied).startswith(f"Cannot write to {tmp_path}: permission denied.")


def test_a_run_folder_appears_with_its_settings_already_inside(tmp_path, dataset):
    from foveal.core.training.config import TrainConfig
    from foveal.core.training.runfolder import prepare_run_dir

    (tmp_path / "out").mkdir()  # an empty folder the user chose is used, a full one never
    config = TrainConfig(data_dir=str(tmp_path / "elsewhere"), out_dir=str(tmp_path / "out"))
    first = prepare_run_dir(config)
    second = prepare_run_dir(config)
    assert (first, second) == (tmp_path / "out", tmp_path / "out-2")
    for run in (first, second):
        assert json.loads((run / "run_config.json").read_text())["out_dir"] == str(tmp_path / "out")
        assert (run / ".running").is_file()
    assert not [x.name for x in tmp_path.iterdir() if x.name.startswith(".")]  # no staging folder left
    with pytest.raises(WriteError, match="inside the dataset folder"):
        prepare_run_dir(TrainConfig(data_dir=str(dataset), out_dir=str(dataset / "run")))
    assert not (dataset / "run").exists() and not [x for x in dataset.iterdir() if x.name.startswith(".")]


# ---- what is already at the target ----------------------------------------------------------------------------

def _special_targets(tmp_path):
    """name → (path, what it is now): things a file write must never replace."""
    import os

    victim = tmp_path / "victim.csv"
    victim.write_text("the user's own file")
    made = {"link to a device": ("null", lambda p: p.symlink_to("/dev/null")),
            "FIFO": ("fifo", lambda p: os.mkfifo(p)),
            "link to a file": ("link.csv", lambda p: p.symlink_to(victim)),
            "link to nothing": ("dangling.csv", lambda p: p.symlink_to(tmp_path / "nowhere.csv")),
            "folder": ("folder.csv", lambda p: p.mkdir())}
    out = {}
    for name, (file, make) in made.items():
        make(tmp_path / file)
        out[name] = tmp_path / file
    return out


def _identity(path):
    import os

    st = os.lstat(path)
    return st.st_mode, st.st_ino, os.readlink(path) if path.is_symlink() else None


@pytest.mark.parametrize("write", [
    lambda p: io.write_text(p, "x"),
    lambda p: io.write_json(p, {}),
    lambda p: io.open_atomic(p).__enter__(),
    lambda p: io.atomic_path(p).__enter__(),
])
def test_a_device_a_fifo_a_folder_or_a_link_is_never_replaced_by_a_file(tmp_path, write):
    """A device, a FIFO or a folder is not a regular file; a link is never written through or replaced (Foveal's
    choice: a link in a shared folder could otherwise send a file anywhere the user may write)."""
    for name, target in _special_targets(tmp_path).items():
        before = _identity(target)
        with pytest.raises(WriteError) as info:
            write(target)
        assert str(target) in str(info.value), name
        words = "link" if name in ("link to a file", "link to nothing") else "not a regular file"
        assert words in str(info.value), f"{name}: {info.value}"
        assert _identity(target) == before, f"{name} was replaced"
    assert (tmp_path / "victim.csv").read_text() == "the user's own file"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(io.TMP_PREFIX)]


def test_the_system_null_device_is_refused_before_any_write():
    with pytest.raises(WriteError, match=r"/dev/null is not a regular file: it is a device\. Foveal writes only "
                                         r"regular files\. Choose a file name\."):
        io.check_target("/dev/null", "file")


def test_a_link_planted_under_a_temporary_name_is_not_followed(tmp_path, monkeypatch):
    """The temporary file is made new (O_EXCL), so a link waiting under a guessable name leads nowhere."""
    import os

    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    # the name the writer used to take, and the first name it will try now
    for name in (f"{io.TMP_PREFIX}{os.getpid()}-report.html", f"{io.TMP_PREFIX}{os.getpid()}-00000000-report.html"):
        (tmp_path / name).symlink_to(victim)
    calls = iter(["0" * 8, "1" * 8])
    monkeypatch.setattr(io.secrets, "token_hex", lambda n: next(calls))
    io.write_text(tmp_path / "report.html", "<html>")
    assert victim.read_text() == "keep"
    assert (tmp_path / "report.html").read_text() == "<html>" and not (tmp_path / "report.html").is_symlink()


def test_a_folder_write_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(WriteError, match=r"afile is not a folder \(it is a file\)"):
        io.make_dirs(tmp_path / "afile")
    with pytest.raises(WriteError, match=r"afile is a file, not a folder"):
        io.make_dirs(tmp_path / "afile" / "sub")
    with pytest.raises(WriteError, match="not a folder"):
        io.new_folder(tmp_path / "afile")
    assert (tmp_path / "afile").read_text() == "x"


def test_a_new_folder_is_numbered_past_full_ones_and_never_named_after_the_root(tmp_path):
    (tmp_path / "run").mkdir()
    assert io.new_folder(tmp_path / "run") == tmp_path / "run"  # empty: used
    (tmp_path / "run" / "x").write_text("x")
    (tmp_path / "run-2").write_text("a file, skipped")
    assert io.new_folder(tmp_path / "run") == tmp_path / "run-3"
    with pytest.raises(WriteError, match=r"/ is not empty, and a new folder cannot be named after it"):
        io.new_folder("/")


def test_standard_output_on_a_full_device_is_a_message(tmp_path):
    with open("/dev/full", "w") as full:
        with pytest.raises(WriteError, match="Not enough space for standard output"), io.standard_output(full) as out:
            out.write("x" * 100_000)
        full.write("")  # what was buffered was dropped: closing the file does not fail again


def test_a_reader_that_went_away_is_a_broken_pipe_and_nothing_fails_afterwards():
    import os

    read, write = os.pipe()
    os.close(read)
    stream = os.fdopen(write, "w")
    with pytest.raises(BrokenPipeError), io.standard_output(stream) as out:
        out.write("path,class\n")
    stream.close()  # nothing left to flush into the closed pipe


@pytest.mark.parametrize("name, portable", [("CON", "_CON"), ("nul.heatmap.png", "_nul.heatmap.png"),
                                            ("com7.x", "_com7.x"), ("scan. ", "scan"), ("...", "_"),
                                            ("CONSOLE.png", "CONSOLE.png"), ("a_b.png", "a_b.png")])
def test_file_names_foveal_makes_are_accepted_on_windows_too(name, portable):
    assert paths.portable_file_name(name) == portable


@given(st.text(alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="._- "),
               min_size=1, max_size=20))
def test_a_portable_name_is_never_reserved_and_never_ends_in_a_dot_or_space(name):
    out = paths.portable_file_name(name)
    assert out and not out.endswith((".", " ")) and out.split(".")[0].upper() not in paths.WINDOWS_RESERVED


def test_on_windows_a_run_being_written_is_never_asked_about_with_os_kill(tmp_path, monkeypatch):
    """os.kill(pid, 0) ends the process on Windows: whether a run's writer lives is not asked there, and its
    folder is left alone (a running training is never stopped by a question)."""
    import platform

    from foveal.core import runs

    run = tmp_path / "run"
    run.mkdir()
    (run / runs.RUNNING_FILE).write_text(json.dumps({"pid": 999_999_999, "host": platform.node()}))
    (run / "model.keras").write_bytes(b"half")
    monkeypatch.setattr(runs, "WINDOWS", True)
    monkeypatch.setattr(os, "kill", lambda *a: (_ for _ in ()).throw(AssertionError("os.kill on Windows")))
    assert runs.discard_partial_run(run) == [] and (run / "model.keras").exists()
    monkeypatch.setattr(runs, "WINDOWS", False)
    monkeypatch.undo()
    assert "model.keras" in runs.discard_partial_run(run)  # elsewhere: a writer that is gone leaves nothing


def test_a_run_killed_after_saving_its_model_but_before_run_json_keeps_only_run_config(tmp_path):
    """Everything saved beside the model before run.json (familiarity statistics, the mislabel list) is of no use
    without its record: opening such a folder leaves run_config.json alone, to train again from."""
    from foveal.core import runs
    from foveal.core.errors import RunFolderError
    from foveal.core.models.familiar import FAMILIARITY_FILE
    from foveal.core.training.mislabels import MISLABELS_FILE

    run = tmp_path / "run"
    (run / ".cache").mkdir(parents=True)
    for name in ("model.keras", "checkpoint.weights.h5", FAMILIARITY_FILE, MISLABELS_FILE, "run_config.json"):
        (run / name).write_bytes(b"x")
    with pytest.raises(RunFolderError, match="unfinished run"):
        runs.read_run(run)
    assert sorted(p.name for p in run.iterdir()) == ["run_config.json"]
