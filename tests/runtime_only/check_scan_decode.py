"""Scan and decoding agree, checked with Foveal's runtime dependencies only (no test extras).

For one valid file of every format and pixel layout the scan accepts, written here with numpy, Pillow, tifffile,
imagecodecs and pydicom alone, for every DICOM file pydicom ships, and for truncated and damaged copies of each,
``probe()`` (what the scan calls usable) must succeed exactly when ``decode_image()`` (what training reads)
does. Prints one line per file and exits 1 on any disagreement.

Run from the repository root in an environment installed without extras (``pip install .``)::

    python tests/runtime_only/check_scan_decode.py

It imports nothing from pytest, Hypothesis, pypng or the test helpers, so a decoder that silently needs a test
dependency (as 16-bit colour PNG once needed pypng) shows up as a disagreement here.
"""

from __future__ import annotations

import struct
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_REPO = Path(__file__).resolve().parents[2]
if str(_REPO) not in sys.path:  # run as a plain script from a checkout, the package not installed
    sys.path.insert(0, str(_REPO))

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

Maker = Callable[[Path], None]


@dataclass(frozen=True)
class Verdict:
    """What the scan and the decoder said of one file."""

    name: str
    scan_ok: bool
    decode_ok: bool
    reason: str
    valid: bool = False  # written whole by a maker here: the scan must call it usable

    @property
    def agree(self) -> bool:
        return self.scan_ok == self.decode_ok and (self.scan_ok or not self.valid)


def picture(h: int = 24, w: int = 32, channels: int = 3, dtype: str = "uint8") -> np.ndarray:
    """A non-constant test picture of any depth: a gradient with some noise, filling the dtype's range."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:h, 0:w]
    planes = [x / max(w - 1, 1), y / max(h - 1, 1), rng.random((h, w))]
    arr = np.stack([planes[i % 3] for i in range(channels)], axis=2)
    kind = np.dtype(dtype)
    if kind.kind == "f":
        out = arr.astype(kind)
    elif kind == np.bool_:
        out = arr > 0.5
    else:
        info = np.iinfo(kind)
        out = (info.min + arr * (float(info.max) - info.min)).astype(kind)
    return out[:, :, 0] if channels == 1 else out


def _pillow(mode: str, fmt: str, **kwargs) -> Maker:
    def make(path: Path) -> None:
        im = Image.fromarray(picture(channels=3)).convert(mode)
        im.save(path, fmt, **kwargs)
    return make


def _png16(channels: int) -> Maker:
    def make(path: Path) -> None:
        import imagecodecs

        path.write_bytes(imagecodecs.png_encode(picture(channels=channels, dtype="uint16")))
    return make


def _png_chunks(chunks: list[tuple[bytes, bytes]], tail: bytes = b"") -> bytes:
    out = b"\x89PNG\r\n\x1a\n"
    for kind, data in chunks:
        out += struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return out + tail


def _png_fixed_huffman(path: Path) -> None:
    """8-bit RGB noise deflated with fixed Huffman codes only (as stb_image_write does): larger than stored."""
    arr = np.random.default_rng(3).integers(0, 256, (24, 32, 3), dtype=np.uint8)
    raw = b"".join(b"\x00" + row.tobytes() for row in arr)
    packer = zlib.compressobj(9, zlib.DEFLATED, 15, 9, zlib.Z_FIXED)
    idat = packer.compress(raw) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", 32, 24, 8, 2, 0, 0, 0)
    path.write_bytes(_png_chunks([(b"IHDR", ihdr), (b"IDAT", idat[:100]), (b"IDAT", idat[100:]), (b"IEND", b"")]))


_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))


def png_bytes(arr: np.ndarray, interlaced: bool = False, filters: int = 0, cut: int = 0,
              stream: Callable[[bytes], bytes] = zlib.compress) -> bytes:
    """A gray or RGB PNG of ``arr`` (uint8 or big-endian uint16) written by hand: every row with filter type
    ``filters`` (no filtering is done: a type over 4 is damage), Adam7-interlaced if asked, the last ``cut`` bytes
    of the filtered rows left out, deflated by ``stream``."""
    height, width = arr.shape[:2]
    colour = 2 if arr.ndim == 3 else 0
    big = arr.astype(">u2") if arr.dtype == np.uint16 else arr
    raw = b""
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        raw += b"".join(bytes([filters]) + row.tobytes() for row in big[y0::dy, x0::dx] if row.size)
    ihdr = struct.pack(">IIBBBBB", width, height, arr.dtype.itemsize * 8, colour, 0, 0, int(interlaced))
    return _png_chunks([(b"IHDR", ihdr), (b"IDAT", stream(raw[: len(raw) - cut])), (b"IEND", b"")])


def _png_by_hand(**kwargs) -> Maker:
    def make(path: Path) -> None:
        depth = "uint16" if kwargs.pop("deep", False) else "uint8"
        path.write_bytes(png_bytes(picture(h=23, w=29, dtype=depth), **kwargs))
    return make


def _broken_stream(raw: bytes) -> bytes:
    """Deflated data with a run of bytes in its middle overwritten (its CRCs still right: the chunk is sound)."""
    data = bytearray(zlib.compress(raw))
    data[len(data) // 2: len(data) // 2 + 8] = b"\xff" * 8
    return bytes(data)


def damaged_pngs(folder: Path) -> list[Path]:
    """PNGs whose chunks and CRCs are sound but whose image data is damaged: a row filter type of 9, a broken
    deflate stream, 16-bit rows cut short (all still 'usable' by a scan that reads chunk headers only)."""
    cases = {"png_filter9.png": _png_by_hand(filters=9), "png_broken_stream.png": _png_by_hand(stream=_broken_stream),
             "png_rgb16_short.png": _png_by_hand(deep=True, cut=100)}
    for name, make in cases.items():
        make(folder / name)
    return [folder / name for name in cases]


def _with_trailing_bytes(make: Maker) -> Maker:
    def wrapped(path: Path) -> None:
        make(path)
        path.write_bytes(path.read_bytes() + b"\x00" * 300)
    return wrapped


def _animated(fmt: str) -> Maker:
    def make(path: Path) -> None:
        frames = [Image.fromarray(picture()), Image.fromarray(255 - picture())]
        frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100)
    return make


def _jpeg_rotated(path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated a quarter turn
    Image.fromarray(picture()).save(path, "JPEG", exif=exif.tobytes())


def _tiff(dtype: str, channels: int = 1, **kwargs) -> Maker:
    def make(path: Path) -> None:
        import tifffile

        tifffile.imwrite(path, picture(channels=channels, dtype=dtype), **kwargs)
    return make


def _tiff_pages(path: Path) -> None:
    import tifffile

    tifffile.imwrite(path, np.stack([picture(channels=1), 255 - picture(channels=1)]))


def _dicom(bits: int, photometric: str = "MONOCHROME2") -> Maker:
    def make(path: Path) -> None:
        from pydicom.dataset import Dataset, FileMetaDataset
        from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

        arr = picture(channels=1, dtype="uint16" if bits > 8 else "uint8") >> (16 - bits if bits > 8 else 0)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = SecondaryCaptureImageStorage, generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.Modality, ds.Rows, ds.Columns, ds.SamplesPerPixel = "OT", arr.shape[0], arr.shape[1], 1
        ds.PhotometricInterpretation, ds.PixelRepresentation = photometric, 0
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = (16 if bits > 8 else 8), bits, bits - 1
        ds.PixelData = arr.astype("<u2" if bits > 8 else "u1").tobytes()
        ds.save_as(path, enforce_file_format=True)
    return make


def _dicom_without_preamble(path: Path) -> None:
    """A data set written bare: no 128-byte preamble, no ``DICM``, no file meta (as old scanners do)."""
    import pydicom

    _dicom(12)(path)
    ds = pydicom.dcmread(path)
    ds.preamble = None
    del ds.file_meta
    ds.save_as(path, implicit_vr=True, little_endian=True, enforce_file_format=False)


def sparse_png(path: Path, claim: int) -> Path:
    """A 1×1 PNG whose image data chunk claims ``claim`` bytes, written as a sparse file (a hole, then IEND)."""
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    head = _png_chunks([(b"IHDR", ihdr)]) + struct.pack(">I", claim) + b"IDAT"
    with open(path, "wb") as fh:
        fh.write(head)
        fh.seek(len(head) + claim + 4)  # past the claimed data and its CRC
        fh.write(_png_chunks([(b"IEND", b"")])[8:])
    return path


def valid_makers() -> dict[str, Maker]:
    """One maker per format and pixel layout the scan accepts: file name → function writing it."""
    makers: dict[str, Maker] = {
        "jpeg_gray.jpg": _pillow("L", "JPEG"), "jpeg_rgb.jpg": _pillow("RGB", "JPEG", quality=90),
        "jpeg_cmyk.jpg": _pillow("CMYK", "JPEG"), "jpeg_progressive.jpg": _pillow("RGB", "JPEG", progressive=True),
        "jpeg_exif_rotated.jpg": _jpeg_rotated,
        "png_1bit.png": _pillow("1", "PNG"), "png_gray8.png": _pillow("L", "PNG"),
        "png_gray_alpha8.png": _pillow("LA", "PNG"), "png_rgb8.png": _pillow("RGB", "PNG"),
        "png_rgba8.png": _pillow("RGBA", "PNG"), "png_palette.png": _pillow("P", "PNG"),
        "png_stored.png": _pillow("RGB", "PNG", compress_level=0), "png_gray16.png": _png16(1),
        "png_gray_alpha16.png": _png16(2), "png_rgb16.png": _png16(3), "png_rgba16.png": _png16(4),
        "png_fixed_huffman.png": _png_fixed_huffman, "png_trailing_bytes.png": _with_trailing_bytes(_png16(3)),
        "apng.png": _animated("PNG"), "png_interlaced.png": _png_by_hand(interlaced=True),
        "png_interlaced16.png": _png_by_hand(interlaced=True, deep=True),
        "bmp_rgb.bmp": _pillow("RGB", "BMP"), "bmp_palette.bmp": _pillow("P", "BMP"),
        "bmp_1bit.bmp": _pillow("1", "BMP"), "bmp_rgba.bmp": _pillow("RGBA", "BMP"),
        "gif.gif": _pillow("P", "GIF"), "gif_animated.gif": _animated("GIF"),
        "webp_lossy.webp": _pillow("RGB", "WEBP"), "webp_lossless.webp": _pillow("RGBA", "WEBP", lossless=True),
        "webp_animated.webp": _animated("WEBP"),
        "tiff_u8.tif": _tiff("uint8"), "tiff_rgb8.tif": _tiff("uint8", 3), "tiff_u16.tif": _tiff("uint16"),
        "tiff_i16.tif": _tiff("int16"), "tiff_u32.tif": _tiff("uint32"), "tiff_i32.tif": _tiff("int32"),
        "tiff_f32.tif": _tiff("float32"), "tiff_f64.tif": _tiff("float64"), "tiff_bool.tif": _tiff("bool"),
        "tiff_two_channel.tif": _tiff("uint16", 2, planarconfig="contig"),
        "tiff_rgba16.tif": _tiff("uint16", 4, extrasamples=["unassalpha"]),
        "tiff_planar.tif": _tiff("uint8", 3, planarconfig="separate"),
        "tiff_miniswhite.tif": _tiff("uint8", photometric="miniswhite"), "tiff_pages.tif": _tiff_pages,
        "bigtiff.tif": _tiff("uint16", bigtiff=True),
        "dicom_8bit.dcm": _dicom(8), "dicom_12bit.dcm": _dicom(12), "dicom_16bit_mono1.dcm": _dicom(16, "MONOCHROME1"),
        "dicom_no_preamble": _dicom_without_preamble,
    }
    for codec in ("lzw", "adobe_deflate", "packbits", "zstd", "lzma", "jpeg", "webp", "jpeg2000", "jpegxl"):
        makers[f"tiff_{codec}.tif"] = _tiff("uint8", 3, compression=codec)
    makers["tiff_lzw16_predictor.tif"] = _tiff("uint16", compression="lzw", predictor=True)
    makers["tiff_deflate_f32.tif"] = _tiff("float32", compression="zlib")
    return makers


def damaged_copies(path: Path) -> list[Path]:
    """Truncated (at half, near the end, after the header) and damaged-header copies of one valid file."""
    data = path.read_bytes()
    out = []
    for suffix, content in (("cut50", data[: len(data) // 2]), ("cut95", data[: len(data) * 95 // 100]),
                            ("cut200", data[:200]), ("header", _damage_header(data))):
        copy = path.with_name(f"{path.stem}.{suffix}{path.suffix}")
        copy.write_bytes(content)
        out.append(copy)
    return out


def _damage_header(data: bytes) -> bytes:
    """The file with bytes 12–40 overwritten (sizes, depths, offsets in most formats), its magic kept."""
    return data[:12] + bytes(range(200, 228)) + data[40:]


def verdict(path: Path, valid: bool = False) -> Verdict:
    """Ask the scan's probe and the decoder about one file."""
    from foveal.core.data.decode import decode_image
    from foveal.core.data.image_formats import probe
    from foveal.core.errors import ImageDecodeError

    reasons = []
    try:
        probe(path)
        scan_ok = True
    except ImageDecodeError as exc:
        scan_ok, _ = False, reasons.append(f"scan: {exc.reason}")
    try:
        decode_image(path, size=16)
        decode_ok = True
    except ImageDecodeError as exc:
        decode_ok, _ = False, reasons.append(f"decode: {exc.reason}")
    return Verdict(path.name, scan_ok, decode_ok, " | ".join(reasons), valid)


def pydicom_files() -> list[Path]:
    """Every file in pydicom's own test data folder (compressed in every transfer syntax, and broken ones)."""
    import pydicom

    folder = Path(pydicom.__file__).parent / "data" / "test_files"
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.endswith((".py", ".pyc", ".txt")))


def check(folder: Path) -> list[Verdict]:
    """Write every case into ``folder`` and judge each file."""
    valid: list[Path] = []
    damaged = [sparse_png(folder / "sparse_idat_16MB.png", 16 << 20), *damaged_pngs(folder)]
    for name, make in valid_makers().items():
        path = folder / name
        make(path)
        valid.append(path)
        damaged += damaged_copies(path)
    return [verdict(p, valid=True) for p in valid] + [verdict(p) for p in damaged + pydicom_files()]


def main(argv: list[str] | None = None) -> int:
    """Print the table; 0 when scan and decoding agree on every file, 1 otherwise."""
    import logging
    import warnings

    tifffile_log = logging.getLogger("tifffile")
    level = tifffile_log.level
    tifffile_log.setLevel(logging.CRITICAL)  # its notices about the damaged copies are not the point here
    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory(prefix="foveal-scan-decode-") as tmp:
            warnings.simplefilter("ignore")
            verdicts = check(Path(tmp))
    finally:
        tifffile_log.setLevel(level)
    width = max(len(v.name) for v in verdicts)
    for v in verdicts:
        mark = "ok" if v.agree else "DISAGREE" if v.scan_ok != v.decode_ok else "SKIPPED"
        print(f"{mark:8} {v.name:{width}}  scan={'usable' if v.scan_ok else 'skipped':7}  "
              f"decode={'ok' if v.decode_ok else 'fails':5}  {v.reason[:150]}")
    bad = [v for v in verdicts if not v.agree]
    usable = sum(v.scan_ok for v in verdicts)
    print(f"\n{len(verdicts)} files: {usable} usable, {len(verdicts) - usable} skipped, {len(bad)} disagreements")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
