"""scan_dataset and `foveal scan` on a messy lab folder with every kind of good and bad file."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from foveal.core.cli import main as cli_main
from foveal.core.data import scan_dataset
from foveal.core.errors import DatasetError
from tests import factory


@pytest.fixture
def messy(tmp_path):
    """A lab folder: two good classes in every format, plus every kind of bad file and layout problem."""
    root = tmp_path / "Lab data ünïcode"
    a, b = root / "tumour cells", root / "normal"
    (a / "slide 1" / "deeper").mkdir(parents=True)
    b.mkdir()
    (root / "empty class").mkdir()
    arr = factory.gradient()
    factory.write_jpeg(a / "rotated.jpg", arr, orientation=6)
    factory.write_jpeg(a / "slide 1" / "deeper" / "nested ß.jpeg", arr)
    factory.write_jpeg(a / "cmyk.jpg", arr, mode="CMYK")
    factory.write_png16_gray(a / "sixteen.png", np.arange(40 * 60, dtype=np.uint16).reshape(40, 60))
    factory.write_png16_rgb(b / "sixteen_rgb.png", np.dstack([np.full((5, 5), 3000, np.uint16)] * 3))
    Image.fromarray(arr).convert("P").save(b / "palette.png")
    Image.fromarray(np.dstack([arr, arr[..., :1]]), "RGBA").save(b / "alpha.png")
    Image.fromarray(arr).save(b / "bitmap.bmp")
    Image.fromarray(arr).save(b / "anim.gif", save_all=True, append_images=[Image.fromarray(255 - arr)])
    Image.fromarray(arr).save(b / "web.webp")
    tifffile.imwrite(b / "float.tif", np.random.default_rng(0).random((30, 20), dtype=np.float32))
    tifffile.imwrite(b / "pages.tiff", np.stack([arr, arr]), photometric="rgb")
    raw = np.arange(64 * 32, dtype=np.uint16).reshape(64, 32)
    factory.write_dicom(a / "ct.dcm", raw, intercept=-1024, window=(40, 400))
    factory.write_dicom(a / "IM000042", raw, photometric="MONOCHROME1")
    # identical bytes in both classes: a labelling mistake the user must see
    shutil.copy(b / "bitmap.bmp", a / "copy of bitmap.bmp")
    # bad files
    (a / "empty.png").write_bytes(b"")
    factory.truncate(factory.write_jpeg(a / "cut.jpg", factory.gradient(300, 300)), 0.4)
    factory.truncate(factory.write_png16_gray(b / "cut.png", np.arange(90000, dtype=np.uint16).reshape(300, 300)))
    (b / "garbage.jpg").write_bytes(os.urandom(3000))
    (b / "notes.txt").write_text("patient list")
    (b / "scan.svg").write_text("<svg/>")
    factory.write_png_bomb(b / "bomb.png")
    # system files: ignored silently
    for name in (".DS_Store", "Thumbs.db", "desktop.ini", "._rotated.jpg"):
        (a / name).write_bytes(b"\x00\x05\x16\x07junk")
    (root / "README.txt").write_text("loose file in the root")
    outside = tmp_path / "outside.png"
    Image.fromarray(arr).save(outside)
    os.symlink(outside, a / "link_out.png")
    os.symlink(a / "rotated.jpg", b / "link_in.jpg")
    return root


def test_messy_folder_summary(messy):
    before = sorted((p.relative_to(messy), p.stat().st_mtime) for p in messy.rglob("*") if not p.is_symlink())
    s = scan_dataset(messy)
    assert s.layout == "class-folders"
    assert s.classes == ("normal", "tumour cells")
    assert s.empty_classes == ("empty class",)
    assert s.counts == {"normal": 8, "tumour cells": 7}  # link_in.jpg points into 'tumour cells': not 'normal'
    reasons = {sk.rel: sk.reason for sk in s.skipped}
    assert "empty" in reasons["tumour cells/empty.png"]
    assert "truncated JPEG" in reasons["tumour cells/cut.jpg"]
    assert "truncated PNG" in reasons["normal/cut.png"]
    assert "corrupt" in reasons["normal/garbage.jpg"]
    assert "not an image" in reasons["normal/notes.txt"] and "not an image" in reasons["normal/scan.svg"]
    assert "decompression bomb" in reasons["normal/bomb.png"]
    assert "outside the dataset folder" in reasons["tumour cells/link_out.png"]
    assert "not in a class folder" in reasons["README.txt"]
    assert "outside its class folder" in reasons["normal/link_in.jpg"]
    assert len(reasons) == 10
    assert s.ignored_system_files == 4
    rotated = next(r for r in s.images if r.rel.endswith("rotated.jpg"))
    assert (rotated.info.width, rotated.info.height) == (40, 60)  # EXIF orientation applied
    depths = s.depths
    assert depths["PNG gray 16-bit"] == 1 and depths["PNG RGB 16-bit"] == 1 and depths["TIFF gray 32-bit float"] == 1
    assert depths["DICOM gray 12-bit"] == 2
    assert next(r for r in s.images if r.rel.endswith("pages.tiff")).info.frames == 2
    assert any("2 file(s) hold several frames or pages; only the first of each is used: normal/anim.gif, "
               "normal/pages.tiff" in w for w in s.warnings)
    assert s.cross_class_duplicates == (("normal/bitmap.bmp", "tumour cells/copy of bitmap.bmp"),)
    assert s.size_range == ((5, 5), (60, 40))  # real images: the smallest and the largest by pixel count
    assert any("no usable images" in w for w in s.warnings)
    assert s.problem is None
    after = sorted((p.relative_to(messy), p.stat().st_mtime) for p in messy.rglob("*") if not p.is_symlink())
    assert before == after  # nothing written, renamed or deleted in the dataset


def test_every_usable_file_decodes(messy):
    from foveal.core.data import decode_image

    for record in scan_dataset(messy).images:
        assert decode_image(record.path, size=(32, 32)).shape == (32, 32, 3), record.rel


def test_imbalance_warning(tmp_path):
    factory.make_class_folder(tmp_path, {"big": 9, "small": 3})
    s = scan_dataset(tmp_path)
    assert s.imbalance_ratio == 3.0
    assert any("3.0×" in w and "'big'" in w for w in s.warnings)


def test_pre_split_layout(tmp_path):
    for split, n in (("train", 4), ("Validation", 2), ("test", 2)):
        factory.make_class_folder(tmp_path / split, {"cat": n, "dog": n})
    (tmp_path / "train" / "stray.png").write_bytes(b"x")
    s = scan_dataset(tmp_path)
    assert s.layout == "pre-split"
    assert s.split_counts == {"train": {"cat": 4, "dog": 4}, "val": {"cat": 2, "dog": 2},
                              "test": {"cat": 2, "dog": 2}}
    assert any("not in a class folder" in sk.reason for sk in s.skipped)


def test_one_class_is_a_clear_problem(tmp_path):
    factory.make_class_folder(tmp_path, {"only": 3})
    s = scan_dataset(tmp_path)
    assert "at least two class folders" in s.problem and "'only' (3 usable images)" in s.problem
    with pytest.raises(DatasetError, match="at least two"):
        s.require_trainable()


def test_missing_folder_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        scan_dataset(tmp_path / "nope")
    (tmp_path / "f.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        scan_dataset(tmp_path / "f.png")


def test_symlink_loop_does_not_hang(tmp_path):
    factory.make_class_folder(tmp_path, {"a": 2, "b": 2})
    os.symlink(tmp_path / "a", tmp_path / "a" / "loop")
    assert scan_dataset(tmp_path).counts == {"a": 2, "b": 2}


def test_cli_scan_text_json_and_exit_codes(messy, tmp_path, capsys):
    assert cli_main(["scan", str(messy)]) == 0
    text = capsys.readouterr().out
    assert "tumour cells" in text and "truncated JPEG" in text and "Skipped files (10)" in text
    assert cli_main(["scan", str(messy), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["classes"] == {"normal": 8, "tumour cells": 7} and len(data["skipped"]) == 10
    lonely = tmp_path / "lonely"
    factory.make_class_folder(lonely, {"one": 2})
    assert cli_main(["scan", str(lonely)]) == 2
    assert "at least two class folders" in capsys.readouterr().err


def _png(chunks: list[tuple[bytes, bytes]], tail: bytes = b"") -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return out + tail


def test_png_whose_image_data_claims_gigabytes_is_refused_by_the_scan(tmp_path):
    """A header, then an IDAT chunk claiming 2 GB over a hole of a sparse file, then IEND: decoding it took 18 s and
    2 GB of memory before failing. The scan follows the chunk lengths and refuses it in a few reads."""
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError
    from tests.runtime_only.check_scan_decode import sparse_png

    path = sparse_png(tmp_path / "sparse.png", 2**31)
    assert path.stat().st_size > 2**31 and path.stat().st_blocks * 512 < 1 << 20  # sparse: almost nothing on disk
    with pytest.raises(ImageDecodeError, match=r"sparse.png: corrupt PNG: its image data \(IDAT\) claims "
                                               r"2,147,483,648 bytes .* copy it again from the source"):
        probe(path)


def test_png_chunk_list_is_followed_to_iend(tmp_path):
    from foveal.core.data.image_formats import probe
    from foveal.core.data.png_chunks import MAX_METADATA_CHUNK
    from foveal.core.errors import ImageDecodeError

    arr = np.random.default_rng(0).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    rows = b"".join(b"\x00" + row.tobytes() for row in arr)
    fixed = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_FIXED)  # stb_image_write's way: larger than the rows
    idat = fixed.compress(rows) + fixed.flush()
    assert len(idat) > len(rows)
    ihdr = (b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0))
    good = [ihdr, (b"IDAT", idat[:500]), (b"IDAT", idat[500:]), (b"IEND", b"")]
    cases = {
        "split.png": (_png(good), None),
        "trailing.png": (_png(good, tail=b"\x00" * 1000), None),  # bytes after IEND: decoders ignore them
        "no_iend.png": (_png(good[:-1]), "truncated PNG"),
        "junk.png": (_png(good[:2]) + b"\x00\x01junk" + _png(good[2:])[8:], "corrupt PNG: no chunk where"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    with open(tmp_path / "big_text.png", "wb") as fh:  # a text chunk of 64 MB of hole (a sparse file)
        fh.write(_png([ihdr]) + struct.pack(">I", MAX_METADATA_CHUNK + 1) + b"tEXt")
        fh.seek(MAX_METADATA_CHUNK + 1 + 4, os.SEEK_CUR)
        fh.write(_png(good[1:])[8:])
    cases["big_text.png"] = (b"", "corrupt PNG: one tEXt chunk claims 67,108,865 bytes")
    for name, (_, reason) in cases.items():
        if reason is None:
            assert probe(tmp_path / name).width == 40, name
        else:
            with pytest.raises(ImageDecodeError, match=reason):
                probe(tmp_path / name)


def test_truncated_bmp_and_jpeg_without_its_tables_are_skipped(tmp_path):
    """Both decoded with an error while the scan called them usable: a BMP cut short (its bit depth was read from
    the wrong header field), and a JPEG whose quantization table was overwritten."""
    from foveal.core.data import decode_image
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError

    for mode in ("RGB", "P", "RGBA"):
        Image.fromarray(factory.gradient()).convert(mode).save(tmp_path / "whole.bmp")
        factory.truncate(tmp_path / "whole.bmp", 0.95)
        with pytest.raises(ImageDecodeError, match="truncated BMP"):
            probe(tmp_path / "whole.bmp")
    jpeg = factory.write_jpeg(tmp_path / "tables.jpg").read_bytes()
    at = jpeg.index(b"\xff\xdb")  # the quantization table marker
    (tmp_path / "tables.jpg").write_bytes(jpeg[:at] + b"\x00" * 40 + jpeg[at + 40:])
    with pytest.raises(ImageDecodeError):
        decode_image(tmp_path / "tables.jpg")
    with pytest.raises(ImageDecodeError, match="corrupt JPEG file: quantization table 0 is missing"):
        probe(tmp_path / "tables.jpg")


def test_png_with_sound_chunks_but_damaged_image_data_is_refused_by_the_scan(tmp_path):
    """Chunks and CRCs sound, the image data damaged: the scan called these usable and training failed to decode
    them. The scan inflates the image data and refuses each; an interlaced PNG (its rows in 7 passes) stays."""
    from foveal.core.data import decode_image
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError
    from tests.runtime_only.check_scan_decode import damaged_pngs, picture, png_bytes

    damaged = dict(zip(("filter", "stream", "short"), damaged_pngs(tmp_path), strict=True))
    (tmp_path / "long.png").write_bytes(png_bytes(picture(), stream=lambda raw: zlib.compress(raw + b"\0" * 99)))
    (tmp_path / "pass9.png").write_bytes(png_bytes(picture(), interlaced=True, filters=9))
    reasons = {
        damaged["filter"]: r"row 1 has filter type 9, where 0–4 exist",
        damaged["stream"]: r"its compressed stream is broken: Error -3",
        damaged["short"]: r"it inflates to 3,925 bytes where its header gives 4,025",
        tmp_path / "long.png": r"it inflates to more than the 2,328 bytes its header gives",
        tmp_path / "pass9.png": r"row 1 of pass 1 has filter type 9",
    }
    for path, detail in reasons.items():
        with pytest.raises(ImageDecodeError, match=rf"{path.name}: corrupt PNG: its image data is damaged "
                                                   rf"\({detail}.*\); copy it again from the source"):
            probe(path)
    for deep in (False, True):
        arr = picture(h=23, w=29, dtype="uint16" if deep else "uint8")
        (tmp_path / "adam7.png").write_bytes(png_bytes(arr, interlaced=True))
        assert (probe(tmp_path / "adam7.png").width, probe(tmp_path / "adam7.png").bits) == (29, 16 if deep else 8)
        assert decode_image(tmp_path / "adam7.png").shape[:2] == (23, 29)


def test_class_folders_that_differ_only_in_case_are_said_before_they_merge_on_another_system(tmp_path):
    from tests import factory

    data = factory.make_class_folder(tmp_path / "data", {"Tumour": 3, "tumour": 3, "normal": 3}, size=32)
    s = scan_dataset(data)
    assert len(s.classes) == 3  # two classes on this disk
    said = [w for w in s.warnings if "differ only in upper and lower case" in w]
    assert len(said) == 1 and "'Tumour' and 'tumour'" in said[0] and "Rename one" in said[0]
