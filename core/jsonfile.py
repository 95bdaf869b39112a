"""Reading a JSON file someone may have handed over: the one reader for config, split and project files.

Only a regular file is opened (a FIFO or a device would block or never end), of a bounded size, and its text
must be UTF-8 JSON nested no deeper than Python's parser goes. Every failure is the caller's user error, naming
the file, what it should have been and how to get one.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from foveal.core.errors import FovealError


def read_json_file(path: str | os.PathLike[str], *, what: str, fix: str, max_bytes: int,
                   error: type[FovealError]) -> Any:
    """The JSON value ``path`` holds.

    Parameters
    ----------
    what:
        The file's role in words, e.g. ``"config file"``: messages say "The config file PATH is …".
    fix:
        The sentence that ends every message: what to give instead.
    max_bytes:
        Larger files are refused before they are read.
    error:
        The :class:`FovealError` subclass raised.
    """
    p = Path(path)
    return parse_json(read_regular_file(p, what=what, fix=fix, max_bytes=max_bytes, error=error), p, what=what,
                      fix=fix, error=error)


def parse_json(raw: bytes, path: str | os.PathLike[str], *, what: str, fix: str, error: type[FovealError]) -> Any:
    """The JSON value in ``raw``, the contents of ``path``: damage of any kind is ``error``, in words."""
    p = Path(path)
    try:
        return json.loads(raw.decode("utf-8"))
    except RecursionError:  # e.g. '[' nested 100,000 deep: Python's parser recurses once per level
        raise error(f"The {what} {p} is damaged: its JSON is nested far too deeply. {fix}") from None
    except UnicodeDecodeError:
        raise error(f"The {what} {p} is not UTF-8 text: it is damaged or not a {what}. {fix}") from None
    except ValueError as exc:
        raise error(f"The {what} {p} is not valid JSON ({exc}). {fix}") from None


def read_regular_file(path: str | os.PathLike[str], *, what: str, fix: str, max_bytes: int,
                      error: type[FovealError]) -> bytes:
    """The bytes of ``path``, only when it is a regular file of at most ``max_bytes`` (see :func:`read_json_file`)."""
    p = Path(path)
    try:
        info = os.stat(p)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file (a pipe, socket or device)"
            raise error(f"The {what} {p} is {kind}. {fix}")
        if info.st_size > max_bytes:
            raise error(f"The {what} {p} is {info.st_size / (1 << 20):.0f} MB; a {what} is at most "
                        f"{max_bytes >> 20} MB. {fix}")
        # O_NONBLOCK: should a FIFO take the file's place after the check, opening it does not hang.
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise error(f"The {what} {p} is not a regular file. {fix}")
            raw = fh.read(max_bytes + 1)
    except OSError as exc:
        raise error(f"Cannot read the {what} {p}: {exc.strerror or exc}. Check the path.") from None
    except ValueError as exc:  # a NUL character in the path
        raise error(f"Cannot read the {what} {p!r}: {exc}. Check the path.") from None
    if len(raw) > max_bytes:
        raise error(f"The {what} {p} grew past {max_bytes >> 20} MB while being read. {fix}")
    return raw
