"""Checking a PNG file's chunk list from the chunks' 8-byte headers alone, before any decoder reads it.

A PNG is a signature followed by chunks (length, type, data, CRC) that must lead to ``IEND``. Decoders trust the
lengths: a file whose image data (``IDAT``) claims 2 GB (a damaged length, or a sparse file that is mostly a hole)
is read for many seconds into gigabytes of memory before the decoder gives up. Following the lengths by seeking
costs one small read per chunk, and bounds what the decoder can be made to read.
"""

from __future__ import annotations

import struct
from typing import BinaryIO

from core.errors import ImageDecodeError

#: More chunks than this is not an image any encoder wrote (a 100-megapixel image in 8 kB IDAT chunks has ~50k).
MAX_CHUNKS = 100_000
#: A chunk that is not image data (text, ICC profile, EXIF, a private chunk) may be this long at most.
MAX_METADATA_CHUNK = 64 << 20

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel
_ADAM7 = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2))
_AGAIN = "copy it again from the source"


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
    offset, data = 8, 0
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
            return
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
    raw = 0
    for x0, y0, dx, dy in _ADAM7 if interlaced else ((0, 0, 1, 1),):
        w, h = (width - x0 + dx - 1) // dx, (height - y0 + dy - 1) // dy
        if w > 0 and h > 0:
            raw += h * (1 + (w * bits_per_pixel + 7) // 8)
    return raw + raw // 4 + (64 << 10)
