"""decode_image on every supported format, with files written by Pillow, pypng, tifffile and pydicom."""

from __future__ import annotations

import struct
import sys
import zlib

import numpy as np
import pytest
import tifffile
from PIL import Image

from foveal.core.data import decode_image
from foveal.core.errors import ImageDecodeError
from tests import factory


def test_jpeg_rgb_and_resize(tmp_path):
    arr = factory.gradient(40, 60)
    out = decode_image(factory.write_jpeg(tmp_path / "a.jpg", arr))
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert np.abs(out.astype(int) - arr.astype(int))[..., :2].mean() < 12  # lossy, but close
    small = decode_image(tmp_path / "a.jpg", size=(20, 30))
    assert small.shape == (20, 30, 3)
    assert decode_image(tmp_path / "a.jpg", size=32, dtype="float32").shape == (32, 32, 3)


def test_exif_orientation_is_applied(tmp_path):
    arr = factory.gradient(40, 60)
    out = decode_image(factory.write_jpeg(tmp_path / "rot.jpg", arr, orientation=6))
    assert out.shape == (60, 40, 3)  # rotated 90°: width and height swap


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    out = decode_image(factory.write_jpeg(tmp_path / "cmyk.jpg", factory.gradient(), mode="CMYK"))
    assert out.shape == (40, 60, 3)
    assert out[..., 0].std() > 10  # not a flat image


def test_png_gray_palette_alpha(tmp_path):
    gray = factory.gradient(channels=1)
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = decode_image(tmp_path / "g.png")
    assert out.shape == (40, 60, 3)
    assert np.array_equal(out[..., 0], gray) and np.array_equal(out[..., 1], gray)

    Image.fromarray(factory.gradient()).convert("P", palette=Image.Palette.ADAPTIVE).save(tmp_path / "p.png")
    assert decode_image(tmp_path / "p.png").shape == (40, 60, 3)

    rgba = np.dstack([np.full((4, 4, 3), 200, np.uint8), np.array([[255, 0, 128, 255]] * 4, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = decode_image(tmp_path / "a.png")
    assert out[0, 0, 0] == 200 and out[0, 1, 0] == 0 and out[0, 2, 0] == 100  # composited over black


def test_png16_keeps_high_bits(tmp_path):
    # 12-bit values in a 16-bit container: differences below 1/256 of the range must survive
    values = np.linspace(1000, 1100, 60, dtype=np.uint16)[None, :].repeat(10, axis=0)
    out = decode_image(factory.write_png16_gray(tmp_path / "g16.png", values), dtype="float32")
    assert out.min() == pytest.approx(0) and out.max() == pytest.approx(255)
    assert len(np.unique(out[0, :, 0])) == 60  # 60 distinct levels kept, not squashed into a few 8-bit ones

    rgb16 = np.stack([values, values // 2, np.full_like(values, 40000)], axis=2)
    out = decode_image(factory.write_png16_rgb(tmp_path / "c16.png", rgb16), dtype="float32")
    assert out.shape == (10, 60, 3)
    assert len(np.unique(out[0, :, 0])) == 60


def test_bmp_gif_webp(tmp_path):
    arr = factory.gradient()
    Image.fromarray(arr).save(tmp_path / "a.bmp")
    assert np.array_equal(decode_image(tmp_path / "a.bmp"), arr)
    frames = [Image.fromarray(arr), Image.fromarray(255 - arr)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    first = decode_image(tmp_path / "a.gif")
    assert first.shape == (40, 60, 3)
    assert np.abs(first.astype(int) - arr.astype(int)).mean() < np.abs(first.astype(int) - (255 - arr)).mean()
    Image.fromarray(arr).save(tmp_path / "a.webp", lossless=True)
    assert np.array_equal(decode_image(tmp_path / "a.webp"), arr)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_depths(tmp_path, dtype):
    gray = np.linspace(0, 1, 40 * 60).reshape(40, 60)
    arr = (gray * (255 if dtype == np.uint8 else 4095)).astype(dtype)
    tifffile.imwrite(tmp_path / "a.tif", arr)
    out = decode_image(tmp_path / "a.tif", dtype="float32")
    assert out.shape == (40, 60, 3)
    assert out.min() == pytest.approx(0, abs=1e-3) and out.max() == pytest.approx(255, abs=1e-3)


def test_tiff_multipage_rgb_and_two_channel(tmp_path):
    pages = np.stack([factory.gradient(), 255 - factory.gradient()])
    tifffile.imwrite(tmp_path / "multi.tif", pages, photometric="rgb")
    first = decode_image(tmp_path / "multi.tif")
    assert np.array_equal(first, factory.gradient())
    two = np.stack([np.full((8, 8), 100, np.uint8), np.full((8, 8), 50, np.uint8)], axis=2)
    tifffile.imwrite(tmp_path / "two.tif", two, photometric="minisblack", planarconfig="contig")
    out = decode_image(tmp_path / "two.tif")
    assert tuple(out[0, 0]) == (100, 50, 0)


def test_dicom_rescale_window_and_monochrome1(tmp_path):
    raw = np.tile(np.arange(0, 4000, 100, dtype=np.uint16), (8, 1))  # 40 columns, 0..3900
    # rescale: value = raw - 1000; window centre 0, width 2000 -> raw 0..2000 spans the window
    path = factory.write_dicom(tmp_path / "w.dcm", raw, intercept=-1000, window=(0, 2000))
    out = decode_image(path, dtype="float32")
    assert out.shape == (8, 40, 3)
    assert out[0, 0, 0] == pytest.approx(0) and out[0, 10, 0] == pytest.approx(127.5)
    assert out[0, 20, 0] == pytest.approx(255) and out[0, 39, 0] == pytest.approx(255)  # clipped above window

    inverted = decode_image(factory.write_dicom(tmp_path / "m1.dcm", raw, photometric="MONOCHROME1"), dtype="float32")
    assert inverted[0, 0, 0] == pytest.approx(255) and inverted[0, -1, 0] == pytest.approx(0)


def test_extensionless_dicom(tmp_path):
    raw = np.tile(np.arange(0, 4000, 100, dtype=np.uint16), (8, 1))
    path = factory.write_dicom(tmp_path / "IM0001", raw)
    out = decode_image(path, dtype="float32")
    assert out[0, 0, 0] == pytest.approx(0) and out[0, -1, 0] == pytest.approx(255)


def test_bad_files_raise_clear_errors(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ImageDecodeError, match="notes.txt"):
        decode_image(tmp_path / "notes.txt")
    bomb = factory.write_png_bomb(tmp_path / "bomb.png")
    with pytest.raises(ImageDecodeError, match="refused|decompression bomb"):
        decode_image(bomb)
    trunc = factory.truncate(factory.write_jpeg(tmp_path / "t.jpg", factory.gradient(200, 200)), 0.3)
    with pytest.raises(ImageDecodeError, match="t.jpg"):
        decode_image(trunc)


def _png_with_exif_orientation(png: bytes, orientation: int) -> bytes:
    """The PNG with an eXIf chunk (Pillow reads it before the image data) holding an EXIF orientation."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = exif.tobytes()[6:]  # without the JPEG-style "Exif\0\0" prefix
    chunk = struct.pack(">I", len(data)) + b"eXIf" + data + struct.pack(">I", zlib.crc32(b"eXIf" + data))
    return png[:33] + chunk + png[33:]  # after the signature and IHDR


def test_png16_colour_decodes_with_runtime_dependencies_only(tmp_path, monkeypatch):
    """16-bit RGB, RGBA and gray+alpha PNGs keep their 16 bits without pypng, a test-only dependency."""
    import imagecodecs

    monkeypatch.setitem(sys.modules, "png", None)  # as in an install without the test extras
    values = np.linspace(1000, 1100, 60, dtype=np.uint16)[None, :].repeat(10, axis=0)
    opaque, half = np.full_like(values, 65535), np.full_like(values, 32768)
    for name, arr in (("rgb", np.stack([values, values // 2, np.full_like(values, 40000)], axis=2)),
                      ("rgba", np.stack([values, values, values, opaque], axis=2)),
                      ("gray_alpha", np.stack([values, half], axis=2))):
        path = tmp_path / f"{name}.png"
        path.write_bytes(imagecodecs.png_encode(arr))
        out = decode_image(path, dtype="float32")
        assert out.shape == (10, 60, 3), name
        assert len(np.unique(out[0, :, 0])) == 60, name  # 60 levels kept, not squashed into 8-bit ones
        # the range is the image's own, all channels together; alpha is composited over black
        top = {"rgb": 255.0 * (1100 - 500) / (40000 - 500), "rgba": 255.0, "gray_alpha": 255.0 * 32768 / 65535}
        assert out[0, -1, 0] == pytest.approx(top[name], rel=1e-4), name

    rgb = np.stack([values, values, np.zeros_like(values)], axis=2)
    rotated = tmp_path / "rotated.png"
    rotated.write_bytes(_png_with_exif_orientation(imagecodecs.png_encode(rgb), 6))
    assert decode_image(rotated).shape == (60, 10, 3)  # EXIF orientation applied, as for every other image


def test_png_claiming_more_data_than_it_needs_is_refused_at_once(tmp_path):
    """The decoder checks a PNG's chunk list too (predict and evaluate read files the scan never saw)."""
    from tests.runtime_only.check_scan_decode import sparse_png

    path = sparse_png(tmp_path / "sparse.png", 2**31)
    with pytest.raises(ImageDecodeError, match="sparse.png: corrupt PNG: its image data"):
        decode_image(path)


def test_truncated_jpeg_in_tiff_is_refused_by_the_decoder_too(tmp_path):
    """The JPEG codec fills a cut-off strip with gray without a word; the scan refuses the file, so must decoding."""
    path = tmp_path / "jpeg.tif"
    tifffile.imwrite(path, factory.gradient(64, 64), compression="jpeg")
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 95 // 100])
    with pytest.raises(ImageDecodeError, match="truncated TIFF"):
        decode_image(path)


def test_scan_and_decode_agree_with_runtime_dependencies_only(monkeypatch, capsys):
    """tests/runtime_only/check_scan_decode.py, the script CI runs in an install without extras, run here with the
    test-only PNG writer made unimportable."""
    from tests.runtime_only import check_scan_decode

    monkeypatch.setitem(sys.modules, "png", None)
    code = check_scan_decode.main([])
    table = capsys.readouterr().out
    assert code == 0, "\n".join(line for line in table.splitlines() if not line.startswith("ok "))
    assert "0 disagreements" in table
