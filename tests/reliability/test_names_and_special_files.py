"""Names nobody listed and files that are not files.

* A file or folder whose name is not UTF-8 text (Python holds such bytes as lone surrogates) or holds a control
  character broke ``split``, ``train``, ``evaluate DIR`` and ``predict --csv`` with a UnicodeEncodeError far from
  the scan. The scan skips such files and folders with a reason that shows the name escaped and says to rename
  it; ``predict`` predicts such files and writes their names escaped.
* A named pipe in a dataset or given to ``predict`` made it wait for ever; a folder ``predict`` could not read
  was left out without a word. Pipes, sockets and devices are refused from ``stat``, never opened; every folder
  that cannot be read is reported.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import io
import json
import os
import shutil
import socket
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import factory
from tests.factory import real_weights
from tests.reliability.conftest import run_cli

#: Names that must never reach a CSV file, labels.txt or a report as they are: bytes that are not UTF-8 (Latin-1,
#: a lone continuation byte), line breaks, a tab, an escape, DEL, a C1 control, the Unicode line separator.
BAD_NAMES = [b"caf\xe9", b"\xff\xfe", b"new\nline", b"carriage\rreturn", b"tab\there", b"esc\x1b[31m", b"del\x7f",
             b"c1\xc2\x85", b"sep\xe2\x80\xa8"]


def _bytes_path(folder: Path, name: bytes) -> str:
    """``folder/name`` as Python holds a name of arbitrary bytes (surrogate-escaped where not UTF-8)."""
    return os.fsdecode(os.path.join(os.fsencode(folder), name))


def _escaped(name: bytes) -> str:
    from foveal.core.paths import printable

    return printable(os.fsdecode(name))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file Foveal wrote, which must be valid UTF-8."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _named_dataset(root: Path) -> tuple[Path, dict[str, bytes]]:
    """Two good classes; a bad-named file, class folder and nested folder (each holding a good image)."""
    factory.make_class_folder(root, {"benign": 10, "malignant": 10}, size=40)
    image = (root / "benign" / "benign_000.png").read_bytes()
    placed = {"file": b"benign/caf\xe9.png", "file with a line break": b"malignant/two\nlines.png",
              "class folder": b"tum\xe9ur", "nested folder": b"benign/slide\t1"}
    for what, rel in placed.items():
        if what.endswith("folder"):
            os.mkdir(_bytes_path(root, rel))
            Path(_bytes_path(root, rel), "inside.png").write_bytes(image)
        else:
            Path(_bytes_path(root, rel)).write_bytes(image)
    return root, placed


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: ascii(n)[2:-1])
@pytest.mark.parametrize("where", ["file", "class folder", "nested folder"])
def test_scan_skips_names_that_are_not_plain_text(tmp_path, name, where):
    from foveal.core.data.scan import scan_dataset

    root = factory.make_class_folder(tmp_path / "data", {"benign": 3, "malignant": 3}, size=32)
    image = (root / "benign" / "benign_000.png").read_bytes()
    parent = {"file": root / "benign", "class folder": root, "nested folder": root / "malignant"}[where]
    target = _bytes_path(parent, name + (b".png" if where == "file" else b""))
    if where == "file":
        Path(target).write_bytes(image)
    else:
        os.mkdir(target)
        Path(target, "inside.png").write_bytes(image)
    summary = scan_dataset(root)
    assert summary.counts == {"benign": 3, "malignant": 3}  # nothing under a bad name is used
    (skipped,) = summary.skipped
    assert skipped.rel == Path(os.path.relpath(target, root)).as_posix().replace(os.fsdecode(name), _escaped(name))
    assert "\\" in skipped.rel and ("rename the folder" if "folder" in where else "rename the file") in skipped.reason
    # everything the scan says is one line of valid UTF-8, ready for a CSV file or a report
    text = json.dumps(summary.to_dict(), ensure_ascii=False)
    assert text.encode("utf-8") and "\n" not in skipped.rel + skipped.reason


def test_a_dataset_folder_whose_path_is_not_plain_text_is_refused_by_name(tmp_path):
    from foveal.core.data.scan import scan_dataset
    from foveal.core.errors import DatasetError

    root = Path(_bytes_path(tmp_path, b"d\xe9ta"))
    factory.make_class_folder(root, {"a": 2, "b": 2}, size=32)
    with pytest.raises(DatasetError, match=r"d\\xe9ta: the dataset folder's path is not plain text.*Rename"):
        scan_dataset(root)
    o = run_cli("split", root)
    assert o.rc == 2 and o.traceback is None and "d\\xe9ta" in o.err


# ------------------------------------------------------------------------- names through every dataset command


@pytest.fixture(scope="module")
def named(tmp_path_factory) -> tuple[Path, dict[str, bytes], Path]:
    """The named dataset and the one run this module trains on it (MobileNetV2, 32 pixels, one epoch)."""
    base = tmp_path_factory.mktemp("names")
    root, placed = _named_dataset(base / "data")
    o = run_cli("train", root, "--weights", real_weights(), "--epochs", "1", "--image-size", "32",
                "--out", base / "run")
    assert o.traceback is None and o.rc == 0, o.traceback or o.err
    return root, placed, base / "run"


def test_split_and_train_skip_names_that_are_not_plain_text(named, tmp_path):
    root, placed, run = named
    o = run_cli("split", root, "--csv", tmp_path / "split.csv")
    assert o.traceback is None and o.rc == 0, o.traceback or o.err
    files = {row["file"] for row in _csv_rows(tmp_path / "split.csv")}
    assert len(files) == 20 and all(f.startswith(("benign/benign_", "malignant/malignant_")) for f in files)
    trained = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert trained["classes"] == ["benign", "malignant"]  # the bad-named class folder is not a class


def test_evaluate_on_the_folder_lists_each_bad_name_escaped(named, tmp_path):
    root, placed, run = named
    o = run_cli("evaluate", run, root, "--out", tmp_path / "eval", "--json")
    assert o.traceback is None and o.rc == 0, o.traceback or o.err
    skipped = {s["file"]: s["reason"] for s in json.loads(o.out)["skipped"]}
    for rel in placed.values():
        assert _escaped(rel) in skipped and "rename" in skipped[_escaped(rel)]


def test_predict_writes_bad_names_escaped(named, tmp_path):
    """Such files are predicted (the user asked for them by folder); their names are written escaped, so the CSV
    is valid UTF-8 with one line per file."""
    root, placed, run = named
    out = tmp_path / "predictions.csv"
    o = run_cli("predict", run, root, "--csv", out)
    assert o.traceback is None and o.rc == 0, o.traceback or o.err
    rows = {r["path"]: r for r in _csv_rows(out)}
    assert len(rows) == 20 + 4
    for rel in (placed["file"], placed["file with a line break"], placed["class folder"] + b"/inside.png"):
        row = rows[_escaped(os.path.join(os.fsencode(root), rel))]
        assert row["predicted_class"] in ("benign", "malignant") and not row["error"]
    shown = run_cli("predict", run, _bytes_path(root, placed["file"]))  # printed to the terminal
    assert shown.traceback is None and shown.rc == 0 and "caf\\xe9.png: " in shown.out


# --------------------------------------------------------------------------------- pipes, sockets and devices


@contextlib.contextmanager
def never_opened(fifo: Path) -> Iterator[None]:
    """Fail if anything opens ``fifo`` for reading during the block; free a reader blocked in ``open`` so that a
    test of the old behaviour fails instead of hanging."""
    opened: list[bool] = []
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(0.2):
            try:
                fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # succeeds only while a reader has it open
            except OSError as exc:
                assert exc.errno == errno.ENXIO, exc
                continue
            opened.append(True)
            os.close(fd)  # the reader sees end of file and goes on

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
    assert not opened, f"{fifo} was opened: reading a named pipe waits for a writer for ever"


def _special_files(folder: Path) -> dict[str, Path]:
    """A named pipe, a socket and (as root) a character device, each named like an image."""
    made = {"named pipe": folder / "pipe.png"}
    os.mkfifo(made["named pipe"])
    sock = socket.socket(socket.AF_UNIX)
    with contextlib.suppress(OSError):  # a socket path is limited to about 100 bytes
        sock.bind(str(folder / "sock.png"))
        made["socket"] = folder / "sock.png"
    sock.close()
    with contextlib.suppress(PermissionError):
        os.mknod(folder / "dev.png", stat.S_IFCHR | 0o600, os.makedev(1, 3))  # /dev/null's numbers
        made["character device"] = folder / "dev.png"
    return made


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_probe_and_decode_refuse_special_files_unopened(tmp_path):
    from foveal.core.data.decode import decode_image
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError

    made = _special_files(tmp_path)
    os.symlink(made["named pipe"], tmp_path / "link.png")
    with never_opened(made["named pipe"]):
        for kind, path in [*made.items(), ("named pipe", tmp_path / "link.png")]:
            for read in (probe, decode_image):
                with pytest.raises(ImageDecodeError, match=f"{path.name}: a {kind}.*not an image file"):
                    read(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_scan_skips_special_files_and_reports_unreadable_folders(tmp_path, monkeypatch):
    from foveal.core.data.scan import scan_dataset

    root = factory.make_class_folder(tmp_path / "d", {"a": 3, "b": 3}, size=32)
    made = _special_files(root / "a")
    (root / "b" / "locked").mkdir()
    shutil.copy(root / "b" / "b_000.png", root / "b" / "locked" / "x.png")
    (root / "locked").mkdir()  # a class folder that cannot be read
    _lock_folders_named("locked", monkeypatch)
    with never_opened(made["named pipe"]):
        summary = scan_dataset(root)
    reasons = {s.rel: s.reason for s in summary.skipped}
    for kind, path in made.items():
        assert reasons[f"a/{path.name}"].startswith(f"a {kind}") and "not an image file" in reasons[f"a/{path.name}"]
    for rel in ("locked", "b/locked"):
        assert reasons[rel].startswith("folder cannot be read (Permission denied)"), rel
    assert summary.counts == {"a": 3, "b": 3}


def _lock_folders_named(name: str, monkeypatch) -> None:
    """Listing a folder called ``name`` fails as a chmod 000 folder does for a user who is not root."""
    real_scandir = os.scandir

    def scandir(path=".", *args):
        if os.path.basename(os.fspath(path)) == name:
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path, *args)

    monkeypatch.setattr(os, "scandir", scandir)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this system")
def test_predict_reports_pipes_and_unreadable_folders_and_never_waits(named, tmp_path, monkeypatch):
    _, _, run = named
    folder = tmp_path / "to-predict"
    factory.make_class_folder(folder, {"good": 2}, size=32)
    made = _special_files(folder / "good")
    (folder / "good" / "locked").mkdir()
    _lock_folders_named("locked", monkeypatch)
    out = tmp_path / "p.csv"
    with never_opened(made["named pipe"]):
        o = run_cli("predict", run, folder, made["named pipe"], "--csv", out)
    assert o.traceback is None and o.rc == 0, o.traceback or o.err
    rows = {r["path"]: r for r in _csv_rows(out)}
    assert not rows[str(folder / "good" / "good_000.png")]["error"]
    for kind, path in made.items():
        assert rows[str(path)]["error"].startswith(f"a {kind}") and "not an image file" in rows[str(path)]["error"]
    assert rows[str(folder / "good" / "locked")]["error"].startswith("folder cannot be read (Permission denied)")
