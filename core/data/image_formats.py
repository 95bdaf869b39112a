"""Recognising image files and reading their headers, without decoding pixels.

Every file is identified by its content (magic bytes), not its extension, so a PNG saved as ``.jpg`` or a DICOM
file with no extension is still found. :func:`probe` reads the header and, where the format allows it cheaply,
the last bytes of the file, so truncated files are caught during the scan rather than mid-training.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import struct
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from foveal.core.data.png_chunks import check_png_chunks
from foveal.core.errors import ImageDecodeError

#: Images larger than this many pixels are refused: a tiny file that claims a gigantic image is a
#: "decompression bomb" that would exhaust memory if decoded.
MAX_PIXELS = 100_000_000

#: File names that operating systems and file managers leave in folders; skipped silently.
SYSTEM_FILE_NAMES = frozenset({".ds_store", "thumbs.db", "ehthumbs.db", "desktop.ini", "icon\r", ".directory"})

IMAGE_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".dib", ".gif", ".webp", ".tif", ".tiff", ".dcm",
     ".dicom", ".dic"}
)

#: Formats Pillow decodes (the rest: TIFF through tifffile, DICOM through pydicom).
PILLOW_FORMATS = frozenset({"JPEG", "PNG", "BMP", "GIF", "WEBP"})


def is_system_file(name: str) -> bool:
    """True for hidden and OS bookkeeping files (``.DS_Store``, ``._photo.jpg``, ``Thumbs.db``...)."""
    return name.startswith(".") or name.startswith("~$") or name.lower() in SYSTEM_FILE_NAMES


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the header of one image file says.

    Attributes
    ----------
    format:
        ``JPEG``, ``PNG``, ``BMP``, ``GIF``, ``WEBP``, ``TIFF`` or ``DICOM``.
    width, height:
        Size in pixels as displayed (after EXIF orientation).
    mode:
        Pixel layout in words: ``gray``, ``gray+alpha``, ``RGB``, ``RGBA``, ``palette``, ``CMYK``, ``YCbCr``,
        ``binary``, or ``N-channel``.
    bits:
        Bits per sample as stored (1, 8, 12, 16, 32...).
    sample_kind:
        ``uint``, ``int`` or ``float``.
    frames:
        Pages or frames in the file; only the first is used.
    """

    format: str
    width: int
    height: int
    mode: str
    bits: int
    sample_kind: str = "uint"
    frames: int = 1

    @property
    def depth(self) -> str:
        """Mode and depth as one label, e.g. ``"gray 16-bit"`` or ``"RGB 32-bit float"``."""
        kind = " float" if self.sample_kind == "float" else ""
        return f"{self.mode} {self.bits}-bit{kind}"


def sniff(head: bytes) -> str | None:
    """Return the format named by a file's first 132 bytes, or None if it is not an image Foveal reads.

    The most specific marker wins: DICOM's ``DICM`` at offset 128 comes before any magic at offset 0, because
    the standard lets the 128-byte preamble hold anything (dual-personality DICOM/TIFF files put a TIFF header
    there). DICOM without a preamble is recognised by its first data element (see :func:`_raw_dicom`).
    """
    if head[128:132] == b"DICM":
        return "DICOM"
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith(b"BM") and len(head) >= 26:
        return "BMP"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "WEBP"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "TIFF"
    if _raw_dicom(head):
        return "DICOM"
    return None


def _raw_dicom(head: bytes) -> bool:
    """A DICOM data set written without preamble and file meta: it starts with a group 0x0002 or 0x0008 element
    (little or big endian), followed by an explicit VR of two capitals or a plausible implicit length."""
    if len(head) < 8:
        return False
    for order in ("<", ">"):
        group, element = struct.unpack(order + "HH", head[:4])
        if group not in (0x0002, 0x0008) or element > 0x0100:
            continue
        vr = head[4:6]
        if vr.isalpha() and vr.isupper():
            return True
        if struct.unpack(order + "I", head[4:8])[0] < 1024:
            return True
    return False


def probe(path: str | os.PathLike[str], size: int | None = None) -> ImageInfo:
    """Read one file's header and check that it is complete.

    Parameters
    ----------
    path:
        The file.
    size:
        Its size in bytes if already known (saves a ``stat``).

    Raises
    ------
    ImageDecodeError
        With a reason a person can act on: empty, not an image, truncated, corrupt, too large.
    """
    path = os.fspath(path)
    with open_regular(path) as fh:
        if size is None:
            size = os.fstat(fh.fileno()).st_size
        if size == 0:
            raise ImageDecodeError(path, "empty file (0 bytes)")
        head = fh.read(132)
        fmt = sniff(head)
        if fmt is None:
            ext = Path(path).suffix.lower()
            if ext in IMAGE_EXTENSIONS:
                raise ImageDecodeError(path, f"corrupt or not a {ext} image: its content is not a known image format")
            raise ImageDecodeError(path, f"not an image file ({ext or 'no extension'}); Foveal reads JPEG, PNG, "
                                   "BMP, GIF, WebP, TIFF and DICOM")
        if fmt in PILLOW_FORMATS:
            check_complete(path, fh, fmt, head, size)
            fh.seek(0)
            info = _probe_pillow(path, fh, fmt, head)
    if fmt == "TIFF":
        info = _probe_tiff(path, size)
    elif fmt == "DICOM":
        from foveal.core.data.dicom_headers import probe_dicom

        info = probe_dicom(path, size)
    if info.width * info.height > MAX_PIXELS:
        raise ImageDecodeError(
            path,
            f"refused: claims {info.width}×{info.height} pixels, over the {MAX_PIXELS // 1_000_000} megapixel "
            "limit (a corrupt file or a decompression bomb); export a smaller version of the image",
        )
    if info.width < 1 or info.height < 1:
        raise ImageDecodeError(path, f"corrupt header: image size {info.width}×{info.height}")
    return info


_NOT_REGULAR = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISSOCK, "a socket"),
                (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def open_regular(path: str) -> BinaryIO:
    """Open a file for binary reading only when it is a regular file.

    A named pipe would make ``open`` wait for ever, a device node can be read without end (or act on being
    opened), a socket cannot be read at all: they are refused from ``stat`` before any ``open``, and checked again
    on the opened descriptor (opened non-blocking), so a file swapped for a pipe in between cannot block either.

    Raises
    ------
    ImageDecodeError
        For anything that is not a regular file, naming what it is. ``OSError`` when it cannot be read at all.
    """
    _require_regular(path, os.stat(path).st_mode)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        _require_regular(path, os.fstat(fd).st_mode)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def special_file_reason(mode: int) -> str:
    """Why a path with this ``st_mode`` (not a regular file) is not read: what it is, in words."""
    kind = next((name for test, name in _NOT_REGULAR if test(mode)), "a special file")
    return f"{kind}, not an image file: Foveal reads only regular files (a pipe or device could wait for ever)"


def _require_regular(path: str, mode: int) -> None:
    if not stat.S_ISREG(mode):
        raise ImageDecodeError(path, special_file_reason(mode))


def check_complete(path: str, fh: BinaryIO, fmt: str, head: bytes, size: int) -> None:
    """Catch truncated JPEG, GIF, WebP and BMP files from their last bytes or their header's sizes, and broken
    PNG files from their chunk list (:mod:`core.data.png_chunks`), without decoding anything."""
    truncated = False
    if fmt == "JPEG":
        fh.seek(max(0, size - 4096))
        truncated = b"\xff\xd9" not in fh.read()
    elif fmt == "PNG":
        check_png_chunks(path, fh, size)
    elif fmt == "GIF":
        fh.seek(max(0, size - 64))
        truncated = b";" not in fh.read()
    elif fmt == "WEBP":
        truncated = struct.unpack("<I", head[4:8])[0] + 8 > size
    elif fmt == "BMP":
        end = _bmp_data_end(head)
        truncated = end is not None and end > size
    if truncated:
        raise ImageDecodeError(path, f"truncated {fmt} file: it ends before the image data does "
                               "(an interrupted copy or download); copy it again from the source")


def _bmp_data_end(head: bytes) -> int | None:
    """Where an uncompressed BMP's pixel rows end, from its header (Windows or OS/2); None when it does not say."""
    offset, header_size = struct.unpack("<II", head[10:18])
    if header_size == 12:  # OS/2 BITMAPCOREHEADER: 16-bit sizes, never compressed
        width, height, bpp = struct.unpack("<hh2xH", head[18:26])
        compression = 0
    elif header_size >= 40 and len(head) >= 34:
        width, height, bpp, compression = struct.unpack("<ii2xHI", head[18:34])
    else:
        return None
    if compression not in (0, 3, 6) or bpp not in (1, 4, 8, 16, 24, 32):  # RLE, JPEG, PNG inside: no fixed size
        return None
    return offset + ((abs(width) * bpp + 31) // 32) * 4 * abs(height)


def check_tiff_complete(path: str, page, size: int) -> None:
    """Refuse a TIFF whose first page's image data runs past the end of the file (some codecs would fill the
    missing part with gray without a word)."""
    ends = [o + c for o, c in zip(page.dataoffsets, page.databytecounts, strict=False) if c]
    if ends and max(ends) > size:
        raise ImageDecodeError(path, "truncated TIFF file: its image data runs past the end of the file; "
                               "copy it again from the source")


_PIL_MODES = {
    "1": ("binary", 1, "uint"), "L": ("gray", 8, "uint"), "LA": ("gray+alpha", 8, "uint"),
    "P": ("palette", 8, "uint"), "PA": ("palette+alpha", 8, "uint"), "RGB": ("RGB", 8, "uint"),
    "RGBA": ("RGBA", 8, "uint"), "RGBX": ("RGB", 8, "uint"), "CMYK": ("CMYK", 8, "uint"),
    "YCbCr": ("YCbCr", 8, "uint"), "I;16": ("gray", 16, "uint"), "I;16B": ("gray", 16, "uint"),
    "I;16L": ("gray", 16, "uint"), "I;16N": ("gray", 16, "uint"), "I": ("gray", 32, "int"),
    "F": ("gray", 32, "float"),
}


def _probe_pillow(path: str, fh, fmt: str, head: bytes) -> ImageInfo:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fh, formats=[fmt]) as im:
                width, height = im.size
                frames = int(getattr(im, "n_frames", 1) or 1) if fmt in ("GIF", "WEBP", "PNG") else 1
                mode, bits, kind = _PIL_MODES.get(im.mode, (im.mode, 8, "uint"))
                if fmt == "PNG":
                    mode, bits = _png_depth(head, mode, bits)
                if fmt == "JPEG":
                    _check_jpeg_tables(path, im)
                if "exif" in im.info or fmt == "JPEG":
                    orientation = im.getexif().get(0x0112, 1)
                    if orientation in (5, 6, 7, 8):
                        width, height = height, width
    except Image.DecompressionBombError:
        raise ImageDecodeError(path, "refused: the header claims an enormous image (decompression bomb)") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error) as exc:
        raise ImageDecodeError(path, f"corrupt {fmt} file: {exc}") from None
    return ImageInfo(fmt, width, height, mode, bits, kind, frames)


def _check_jpeg_tables(path: str, im) -> None:
    """A JPEG whose frame names a quantization table its header does not hold cannot be decoded: refuse it here."""
    needed = {component[3] for component in getattr(im, "layer", ())}
    missing = needed - set(getattr(im, "quantization", {}) or {})
    if missing:
        raise ImageDecodeError(path, f"corrupt JPEG file: quantization table {min(missing)} is missing from its "
                               "header; copy it again from the source")


def _png_depth(head: bytes, mode: str, bits: int) -> tuple[str, int]:
    """Pillow opens 16-bit colour PNGs as 8-bit RGB; the IHDR chunk has the real depth."""
    if len(head) >= 26 and head[12:16] == b"IHDR":
        bit_depth, colour_type = head[24], head[25]
        names = {0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"}
        return names.get(colour_type, mode), bit_depth
    return mode, bits


class _NameTheFile(logging.Filter):
    """tifffile logs problems without saying which file: prefix the file this thread is reading."""

    def filter(self, record: logging.LogRecord) -> bool:
        path = getattr(_reading, "path", None)
        if path and not getattr(record, "foveal_named", False):
            record.msg, record.args, record.foveal_named = f"{path}: {record.getMessage()}", (), True
        return True


_reading = threading.local()
logging.getLogger("tifffile").addFilter(_NameTheFile())
# pydicom logs each decoder plug-in's failure with a traceback before raising, and warns of odd values it reads
# anyway; Foveal's own message names the file and the reason, so neither reaches the user's terminal.
logging.getLogger("pydicom").setLevel(logging.ERROR)
logging.getLogger("pydicom.pixels.decoders.base").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def reading(path: str) -> Iterator[None]:
    """Within the block, tifffile's log messages on this thread name ``path``."""
    _reading.path = path
    try:
        yield
    finally:
        _reading.path = None


def _probe_tiff(path: str, size: int) -> ImageInfo:
    import tifffile

    try:
        with reading(path), tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            if page.compression != 1:
                tifffile.TIFF.DECOMPRESSORS[page.compression]  # KeyError when no installed codec reads it
            frames = len(tif.pages)
            shape, dtype = page.shape, page.dtype
            samples = page.samplesperpixel
            check_tiff_complete(path, page, size)
    except KeyError:
        codec = getattr(page.compression, "name", page.compression)  # a tifffile COMPRESSION enum
        raise ImageDecodeError(path, f"compressed TIFF ({codec}) that no installed codec reads; "
                               "save it uncompressed or reinstall Foveal with imagecodecs") from None
    except ImageDecodeError:
        raise
    except Exception as exc:  # tifffile raises many exception types for corrupt files
        raise ImageDecodeError(path, f"corrupt TIFF file: {exc}") from None
    if dtype is None:
        raise ImageDecodeError(path, "unsupported TIFF: unknown sample format")
    height, width = page.imagelength, page.imagewidth
    mode = {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}.get(samples, f"{samples}-channel")
    if len(shape) >= 2 and samples == 1 and str(getattr(page.photometric, "name", page.photometric)) == "RGB":
        mode = "RGB"
    kind = {"f": "float", "i": "int"}.get(dtype.kind, "uint")
    return ImageInfo("TIFF", width, height, mode, dtype.itemsize * 8 if dtype.itemsize else 1, kind, frames)
