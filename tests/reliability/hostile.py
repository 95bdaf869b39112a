"""Hostile inputs, written for the reliability tests: every kind of bad file a lab folder holds, hostile model
files, broken run folders and bad config files. Each maker returns what it wrote and what Foveal must do."""

from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from tests import factory
from tests.runtime_only.check_scan_decode import sparse_png


@dataclass(frozen=True)
class Case:
    """One hostile input: where it is, and the reason (a regex) the scan must give, or None when usable."""

    name: str
    rel: str
    skipped: str | None


def pydicom_file(name: str) -> Path:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name))


def hostile_dataset(root: Path) -> tuple[Path, list[Case]]:
    """Two good classes of 8 images each, plus every kind of bad or unusual file among them."""
    factory.make_class_folder(root, {"benign": 8, "malignant": 8}, size=40)
    a, b = root / "benign", root / "malignant"
    cases: list[Case] = []

    def add(name: str, path: Path, skipped: str | None) -> None:
        cases.append(Case(name, path.relative_to(root).as_posix(), skipped))

    (a / "empty.png").write_bytes(b"")
    add("empty file", a / "empty.png", "empty file")
    factory.truncate(factory.write_jpeg(a / "cut.jpg"), 0.5)
    add("truncated JPEG", a / "cut.jpg", "truncated JPEG")
    (a / "notes.png").write_text("patient notes, not an image\n", encoding="utf-8")
    add("text named .png", a / "notes.png", "corrupt or not a .png")
    factory.write_png_bomb(a / "bomb.png")
    add("decompression bomb", a / "bomb.png", "megapixel limit|decompression bomb")
    Image.fromarray(np.full((50, 20000, 3), 128, np.uint8)).save(b / "wide.png")
    add("20000x50 image", b / "wide.png", None)
    Image.fromarray(np.full((40, 40), 77, np.uint8)).save(b / "flat.png")
    add("constant image", b / "flat.png", None)
    import tifffile

    tifffile.imwrite(b / "nan.tif", np.full((32, 32), np.nan, np.float32))
    add("all-NaN float TIFF", b / "nan.tif", None)
    tifffile.imwrite(b / "lzw16.tif", (np.arange(32 * 32, dtype=np.uint16).reshape(32, 32) * 7), compression="lzw")
    add("LZW 16-bit TIFF", b / "lzw16.tif", None)
    tifffile.imwrite(b / "jpeg.tif", factory.gradient(32, 32), compression="jpeg")
    add("JPEG-in-TIFF", b / "jpeg.tif", None)
    for name, target, rel in (("dual-personality DICOM/TIFF (CT_small)", "CT_small.dcm", "ct_small.dcm"),
                              ("JPEG-LS DICOM", "MR_small_jpeg_ls_lossless.dcm", "jls.dcm"),
                              ("JPEG 2000 DICOM", "MR_small_jp2klossless.dcm", "j2k.dcm"),
                              ("RLE DICOM", "MR_small_RLE.dcm", "rle.dcm"),
                              ("12-bit JPEG DICOM", "JPGExtended.dcm", "jpeg12.dcm")):
        shutil.copyfile(pydicom_file(target), a / rel)
        add(name, a / rel, None)
    write_dicom_without_preamble(a / "nopreamble")
    add("DICOM without preamble or file meta", a / "nopreamble", None)
    shutil.copyfile(pydicom_file("JPEG-lossy.dcm"), a / "broken_jpeg.dcm")
    add("corrupt 12-bit JPEG DICOM", a / "broken_jpeg.dcm", "corrupt compressed DICOM")
    shutil.copyfile(pydicom_file("MR_truncated.dcm"), a / "cut.dcm")
    add("truncated DICOM", a / "cut.dcm", "truncated")
    os.symlink("../malignant", a / "to_other_class")
    add("link to another class folder", a / "to_other_class", "outside its class folder")
    (b / "deep").mkdir()
    os.symlink("..", b / "deep" / "loop")
    add("folder link loop", b / "deep" / "loop", "loop")
    os.symlink("/etc/passwd", a / "outside.png")
    add("link out of the dataset", a / "outside.png", "outside the dataset")
    (root / "loose.jpg").write_bytes((a / "benign_000.png").read_bytes())
    add("file outside class folders", root / "loose.jpg", "not in a class folder")
    sparse_png(b / "sparse.png", 16 << 20)  # a hole of 16 MB on disk; the same file claiming 2 GB took 18 s to fail
    add("PNG whose image data claims 16 MB (sparse file)", b / "sparse.png", "corrupt PNG")
    if hasattr(os, "mkfifo"):  # not on Windows
        os.mkfifo(a / "pipe.png")
        add("named pipe (FIFO) named .png", a / "pipe.png", "named pipe")
    (a / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return root, cases


def write_dicom_without_preamble(path: Path) -> Path:
    """MR_small's data set written bare: no 128-byte preamble, no ``DICM``, no file meta (as old scanners do)."""
    import pydicom

    ds = pydicom.dcmread(pydicom_file("MR_small.dcm"))
    ds.preamble = None
    del ds.file_meta
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)
    return path


def hostile_models(folder: Path, good_model: Path) -> dict[str, Path]:
    """Model files that must be refused with a message: name → path."""
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    out["empty .keras"] = folder / "empty.keras"
    out["empty .keras"].write_bytes(b"")
    out["not a zip"] = folder / "text.keras"
    out["not a zip"].write_text("hello", encoding="utf-8")
    out["truncated .keras"] = folder / "cut.keras"
    out["truncated .keras"].write_bytes(good_model.read_bytes()[: good_model.stat().st_size // 3])
    bomb = folder / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("config.json", "w") as fh:  # 80 MB of spaces: 80 kB on disk, a ratio of 1000
            chunk = b" " * (1 << 24)
            for _ in range(5):
                fh.write(chunk)
        zf.writestr("metadata.json", "{}")
    out["zip bomb config.json"] = bomb
    no_config = folder / "noconfig.keras"
    with zipfile.ZipFile(no_config, "w") as zf:
        zf.writestr("metadata.json", "{}")
    out["zip without config.json"] = no_config
    for p in out.values():  # each beside class names, so only the model file itself is the problem
        (p.parent / "labels.txt").write_text("benign\nmalignant\n", encoding="utf-8")
    return out


def broken_runs(folder: Path, good_run: Path) -> dict[str, Path]:
    """Copies of a good run folder, each damaged in one way: name → folder."""
    out = {}

    def copy(name: str) -> Path:
        dst = folder / name.replace(" ", "_")
        shutil.copytree(good_run, dst)
        out[name] = dst
        return dst

    (copy("no run.json") / "run.json").unlink()
    (copy("run.json not JSON") / "run.json").write_text("{not json", encoding="utf-8")
    (copy("run.json empty") / "run.json").write_bytes(b"")
    (copy("run.json a list") / "run.json").write_text("[1, 2]", encoding="utf-8")
    for name, change in (("classes not a list", {"classes": 5}),
                         ("one class more than outputs", {"classes": ["benign", "malignant", "other"]}),
                         ("split missing", {"split": None}),
                         ("dataset root missing", {"dataset": {}}),
                         ("model file named outside", {"model": "../../etc/passwd"})):
        run = json.loads((good_run / "run.json").read_text(encoding="utf-8"))
        run.update(change)
        (copy(name) / "run.json").write_text(json.dumps(run), encoding="utf-8")
    (copy("model.keras missing") / "model.keras").unlink()
    return out


def bad_configs(folder: Path, dataset: Path) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in (("epochs is a word", json.dumps({"data_dir": str(dataset), "epochs": "many"})),
                       ("learning rate is a list", json.dumps({"data_dir": str(dataset), "learning_rate": [1]})),
                       ("not JSON", "epochs: 3"),
                       ("a JSON list", "[]"),
                       ("unknown setting", json.dumps({"data_dir": str(dataset), "epoch": 3})),
                       ("run.json with a config that is text", json.dumps({"format": "foveal-run", "config": "x"}))):
        p = folder / f"{name.replace(' ', '_')}.json"
        p.write_text(text, encoding="utf-8")
        out[name] = p
    return out


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (hidden ones too, links not followed): type, size, mtime, content digest."""
    import hashlib

    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = p.relative_to(root).as_posix()
            if p.is_symlink():
                out[rel] = ("link", os.readlink(p))
            elif p.is_dir():
                out[rel] = ("dir", st.st_mtime_ns)
            elif not stat.S_ISREG(st.st_mode):  # a pipe or device: never opened (reading a pipe waits for ever)
                out[rel] = ("special", stat.S_IFMT(st.st_mode), st.st_mtime_ns)
            else:
                out[rel] = ("file", st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
    out["."] = ("dir", root.stat().st_mtime_ns)
    return out
