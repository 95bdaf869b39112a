"""Checking a PNG file's chunk list from the chunks' 8-byte headers alone, before any decoder reads it.

A PNG is a signature followed by chunks (length, type, data, CRC) that must lead to ``IEND``. Decoders trust the
lengths: a file whose image data (``IDAT``) claims 2 GB (a damaged length, or a sparse file that is mostly a hole)
is read for many seconds into gigabytes of memory before the decoder gives up. Following the lengths by seeking
costs one small read per chunk, and bounds what the decoder can be made to read.

Sound chunks can still hold damaged image data (a broken deflate stream, a row filter byte over 4, rows missing),
which only inflating finds: the image data is inflated here in pieces, its output bounded by the size the header
gives, so the scan calls usable exactly the PNGs the decoders read.
"""

from __future__ import annotations

import struct
import zlib
from typing import BinaryIO, NoReturn

from foveal.core.errors import ImageDecodeError

#: More chunks than this is not an image any encoder wrote (a 100-megapixel image in 8 kB IDAT chunks has ~50k).
MAX_CHUNKS = 100_000
#: A chunk that is not image data (text, ICC profile, EXIF, a private chunk) may be this long at most.
MAX_METADATA_CHUNK = 64 << 20

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_AGAIN = "copy it again from the source"
_PIECE = 1 << 16  # bytes read, and inflated, at a time


def check_png_chunks(path: str, fh: BinaryIO, size: int) -> None:
    """Refuse a PNG whose chunks do not lead to ``IEND`` within the file, or whose image data is longer than its
    size could need. Bytes after ``IEND`` are ignored, as decoders ignore them.

    Raises
    ------
    ImageDecodeError
        ``truncated PNG file`` or ``corrupt PNG: …``, naming the file and saying to copy it again.
    """
    fh.seek(8)
    ihdr = fh.read(25)
    if len(ihdr) < 25 or ihdr[4:8] != b"IHDR":
        raise ImageDecodeError(path, f"corrupt PNG: it does not start with its header chunk (IHDR); {_AGAIN}")
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", ihdr[8:21])
    limit = data_limit(width, height, _CHANNELS.get(colour, 4) * depth, interlace == 1)
    offset, data, spans = 8, 0, list[tuple[int, int]]()
    for _ in range(MAX_CHUNKS):
        fh.seek(offset)
        header = fh.read(8)
        if len(header) < 8:
            break  # no IEND: the file ends early
        length, kind = struct.unpack(">I4s", header)
        if not kind.isalpha():
            raise ImageDecodeError(path, f"corrupt PNG: no chunk where one should start (byte {offset}); {_AGAIN}")
        end = offset + 12 + length
        if end > size:
            break
        if kind == b"IEND":
            _check_image_data(path, fh, spans, (width, height, _CHANNELS.get(colour, 4) * depth, interlace == 1))
            return
        if kind == b"IDAT":
            spans.append((offset + 8, length))
        data += length if kind == b"IDAT" else 0
        claimed, most = (data, limit) if kind == b"IDAT" else (length, limit if kind == b"fdAT" else MAX_METADATA_CHUNK)
        if claimed > most:
            what = "its image data (IDAT)" if kind == b"IDAT" else f"one {kind.decode('ascii')} chunk"
            raise ImageDecodeError(path, f"corrupt PNG: {what} claims {claimed:,} bytes where a {width}×{height} "
                                   f"image has at most {most:,}; {_AGAIN}")
        offset = end
    else:
        raise ImageDecodeError(path, f"corrupt PNG: over {MAX_CHUNKS:,} chunks; {_AGAIN}")
    raise ImageDecodeError(path, "truncated PNG file: it ends before the image data does (an interrupted copy "
                           f"or download); {_AGAIN}")


def data_limit(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> int:
    """The most compressed image data (IDAT) a ``width×height`` PNG can hold: its filtered rows (a filter byte
    each, every Adam7 pass counted when interlaced), a quarter more for encoders that deflate with fixed Huffman
    codes only (stb_image_write: up to 12.5 % larger than stored) and 64 kB of headroom."""
    raw = sum(rows * stride for _, stride, rows in row_layout(width, height, bits_per_pixel, interlaced))
    return raw + raw // 4 + (64 << 10)


def row_layout(width: int, height: int, bits_per_pixel: int, interlaced: bool) -> list[tuple[int, int, int]]:
    """Where the filtered rows lie in a PNG's inflated image data: ``(start, stride, rows)`` per pass (one pass, or
    the seven Adam7 passes, an empty one with no rows), a row being its filter byte and ``ceil(width × bits / 8)``
    bytes."""
    out, start = [], 0
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        stride, rows = 1 + (w * bits_per_pixel + 7) // 8, h if w > 0 and h > 0 else 0
        out.append((start, stride, rows))
        start += rows * stride
    return out


def _check_image_data(path: str, fh: BinaryIO, spans: list[tuple[int, int]], shape: tuple[int, int, int, bool]) -> None:
    """Inflate the image data (``spans``: offset and length of each IDAT chunk's data) in pieces and refuse it
    unless it is one complete deflate stream holding exactly the rows the header gives, each with a filter byte
    0–4. Images over the pixel limit are left to :func:`core.data.image_formats.probe`, which refuses them."""
    from foveal.core.data.image_formats import MAX_PIXELS

    width, height, bits, interlaced = shape
    if not 0 < width * height <= MAX_PIXELS:
        return
    layout = row_layout(width, height, bits, interlaced)
    expected = sum(rows * stride for _, stride, rows in layout)
    inflater, done = zlib.decompressobj(), 0
    try:
        for offset, length in spans:
            fh.seek(offset)
            while length > 0 and not inflater.eof:
                piece = fh.read(min(length, _PIECE))
                if not piece:
                    break
                length -= len(piece)
                while piece and not inflater.eof:
                    out = inflater.decompress(piece, _PIECE)
                    piece = inflater.unconsumed_tail
                    if done + len(out) > expected:
                        _damaged(path, f"it inflates to more than the {expected:,} bytes its header gives")
                    _check_filters(path, out, done, layout)
                    done += len(out)
    except zlib.error as exc:
        _damaged(path, f"its compressed stream is broken: {exc}")
    if not inflater.eof:
        _damaged(path, f"its compressed stream ends early, after {done:,} of {expected:,} bytes")
    if done != expected:
        _damaged(path, f"it inflates to {done:,} bytes where its header gives {expected:,}")


def _check_filters(path: str, out: bytes, at: int, layout: list[tuple[int, int, int]]) -> None:
    """Refuse a row filter byte over 4 among the bytes ``out`` of the inflated data, which start at ``at``."""
    for number, (start, stride, rows) in enumerate(layout):
        first = max(0, -(-(at - start) // stride))
        stop = min(at + len(out), start + rows * stride) - at
        begin = start + first * stride - at
        if begin < stop:
            filters = out[begin:stop:stride]
            if max(filters) > 4:
                row = first + next(i for i, f in enumerate(filters) if f > 4)
                where = f"row {row + 1}" + (f" of pass {number + 1}" if len(layout) > 1 else "")
                _damaged(path, f"{where} has filter type {filters[row - first]}, where 0–4 exist")


def _damaged(path: str, detail: str) -> NoReturn:
    raise ImageDecodeError(path, f"corrupt PNG: its image data is damaged ({detail}); {_AGAIN}")
