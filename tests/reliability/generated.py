"""Hypothesis strategies for what a lab's disk holds and what a person types, and the one invariant every
command keeps on them.

The invariant (:func:`check`): the command succeeds, or ends with exit code 2 and a message; it never raises a
traceback; the dataset is byte-identical afterwards; nothing outside the chosen output was created, replaced or
removed. The strategies generate names of arbitrary bytes, trees with links and special files, image files of
every format the scan accepts (valid, truncated, with random header bytes), option values at and beyond their
boundaries, and run folders with each key deleted, retyped, nested deeply or pointing outside their dataset.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from hypothesis import strategies as st
from PIL import Image

from tests import factory
from tests.reliability.conftest import Outcome

#: How many cases each (family, command) ran and passed; printed by the tests with ``-s`` and kept for notes.
TALLY: Counter[tuple[str, str, str]] = Counter()

# ---------------------------------------------------------------------------------------------- names and trees

_FORBIDDEN = {b"", b".", b".."}


def _valid_name(raw: bytes) -> bool:
    return raw not in _FORBIDDEN and b"/" not in raw and b"\x00" not in raw and len(raw) <= 200


#: File and folder names of arbitrary bytes: not valid UTF-8, control characters, newlines, spaces, dots,
#: leading dashes, very long; and ordinary ones, so that most trees also hold usable images.
name_bytes = st.one_of(
    st.binary(min_size=1, max_size=60),
    st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=40).map(
        lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from([b"normal", b"tumour", b"a b", b"-rf", b"new\nline", b"caf\xe9", b"\xff\xfe", b"x" * 200,
                     b".hidden", b"Thumbs.db", b"con", b"a\rb", b"tab\there", b"\xe2\x80\xae", b"..."]),
).filter(_valid_name)

IMAGE_KINDS = ("png8", "png16rgb", "png16gray", "jpeg", "bmp", "gif", "webp", "tiff16", "tifffloat", "dicom")
DAMAGE = ("none", "none", "none", "truncate", "header", "empty", "garbage")


def image_bytes(kind: str, seed: int) -> bytes:
    """A small real image of ``kind``, its pixels depending on ``seed``."""
    arr = factory.gradient(24, 20, 3, seed)
    buf = io.BytesIO()
    if kind == "png16rgb":
        import imagecodecs

        return bytes(imagecodecs.png_encode(arr.astype(np.uint16) * 257))
    if kind == "png16gray":
        Image.fromarray(arr[..., 0].astype(np.uint16) * 200).save(buf, "PNG")
    elif kind == "tiff16" or kind == "tifffloat":
        import tifffile

        data = arr[..., 0].astype(np.uint16) * 100 if kind == "tiff16" else arr.astype(np.float32) / 7
        tifffile.imwrite(buf, data, photometric="minisblack" if data.ndim == 2 else "rgb")
    elif kind == "dicom":
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"foveal-gen-{os.getpid()}-{seed}.dcm"
        factory.write_dicom(path, arr[..., 0].astype(np.uint16) * 8)
        data = path.read_bytes()
        path.unlink()
        return data
    else:
        fmt = {"png8": "PNG", "jpeg": "JPEG", "bmp": "BMP", "gif": "GIF", "webp": "WEBP"}[kind]
        Image.fromarray(arr).save(buf, fmt)
    return buf.getvalue()


def damaged(data: bytes, damage: str, seed: int) -> bytes:
    """``data`` cut short, with random bytes written over its header, emptied or replaced by garbage."""
    rng = np.random.default_rng(seed)
    if damage == "truncate":
        return data[: max(1, int(len(data) * rng.uniform(0.05, 0.95)))]
    if damage == "header":
        out = bytearray(data)
        for _ in range(int(rng.integers(1, 6))):
            i = int(rng.integers(0, min(len(out), 64)))
            out[i] = int(rng.integers(0, 256))
        return bytes(out)
    if damage == "empty":
        return b""
    if damage == "garbage":
        return rng.integers(0, 256, int(rng.integers(1, 400)), dtype=np.uint8).tobytes()
    return data


@dataclass(frozen=True)
class Entry:
    """One thing in a generated tree: a file of some kind, a link, a special file or an unreadable folder."""

    path: tuple[bytes, ...]
    kind: str  # image:<kind>:<damage>, text, link-inside, link-outside, link-dangling, link-loop, fifo, socket…
    seed: int = 0


def _entry(depth_names: st.SearchStrategy) -> st.SearchStrategy[Entry]:
    image = st.builds(lambda k, d: f"image:{k}:{d}", st.sampled_from(IMAGE_KINDS), st.sampled_from(DAMAGE))
    other = st.sampled_from(["text", "link-inside", "link-outside", "link-dangling", "link-loop", "fifo",
                             "unreadable-dir", "empty-dir"])
    return st.builds(Entry, depth_names, st.one_of(image, image, image, other), st.integers(0, 10_000))


#: A dataset tree: two or three class folders with generated names, each with a few generated entries (some in
#: nested folders), plus loose entries at the top.
trees = st.builds(
    lambda classes, entries, loose: (classes, entries, loose),
    st.lists(name_bytes, min_size=2, max_size=3, unique_by=lambda b: b.lower()),
    st.lists(st.tuples(st.integers(0, 2), _entry(st.lists(name_bytes, min_size=1, max_size=3).map(tuple))),
             min_size=2, max_size=14),
    st.lists(_entry(st.lists(name_bytes, min_size=1, max_size=1).map(tuple)), max_size=2),
)


def write_tree(root: Path, tree, outside: Path) -> None:
    """Write a generated tree under ``root``. Every class also gets two good images, so there is data to use."""
    classes, entries, loose = tree
    broot = os.fsencode(root)
    for k, cls in enumerate(classes):
        folder = os.path.join(broot, cls)
        os.makedirs(folder, exist_ok=True)
        for i in range(2):
            with open(os.path.join(folder, b"good_%d.png" % i), "wb") as fh:
                fh.write(image_bytes("png8", 97 * k + i))
    for index, entry in entries:
        _write_entry(os.path.join(broot, classes[index % len(classes)]), entry, outside)
    for entry in loose:
        _write_entry(broot, entry, outside)


def _write_entry(folder: bytes, entry: Entry, outside: Path) -> None:
    *dirs, name = entry.path
    parent = os.path.join(folder, *dirs) if dirs else folder
    try:
        os.makedirs(parent, exist_ok=True)
        target = os.path.join(parent, name)
        if os.path.lexists(target):
            return
        kind = entry.kind
        if kind.startswith("image:"):
            _, fmt, damage = kind.split(":")
            with open(target, "wb") as fh:
                fh.write(damaged(image_bytes(fmt, entry.seed), damage, entry.seed))
        elif kind == "text":
            with open(target, "wb") as fh:
                fh.write(b"notes\n")
        elif kind == "link-inside":
            os.symlink(b"..", target)
        elif kind == "link-outside":
            os.symlink(os.fsencode(outside), target)
        elif kind == "link-dangling":
            os.symlink(b"no-such-file.png", target)
        elif kind == "link-loop":
            os.symlink(name, target)
        elif kind == "fifo":
            os.mkfifo(target)
        elif kind in ("unreadable-dir", "empty-dir"):
            os.mkdir(target)
            if kind == "unreadable-dir":
                with open(os.path.join(target, b"inside.png"), "wb") as fh:
                    fh.write(image_bytes("png8", entry.seed))
                os.chmod(target, 0)
    except OSError:  # a name this file system refuses (too long with its folders): not written, as on a real disk
        return


def make_writable(root: Path) -> None:
    """Give back the permissions a tree took away, so it can be removed."""
    for dirpath, dirnames, _ in os.walk(root):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, stat.S_IRWXU)
    shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the invariant


@dataclass
class Watch:
    """What must not change while a command runs: the dataset(s) and everything in ``area`` but ``outputs``."""

    area: Path
    datasets: list[Path]
    outputs: list[Path] = field(default_factory=list)
    before: dict = field(default_factory=dict)

    def __enter__(self) -> Watch:
        self.before = self._state()
        return self

    def __exit__(self, *exc) -> None:
        return None

    def _state(self) -> dict:
        outs = [os.path.abspath(o) for o in self.outputs]

        def mine(rel: str) -> bool:
            full = os.path.abspath(self.area / rel)
            return any(full == o or full.startswith(o + os.sep) for o in outs)

        return {k: v for k, v in tree_state(self.area).items() if not mine(k)}

    def changed(self) -> list[str]:
        after = self._state()
        return sorted(k for k in set(after) | set(self.before) if self.before.get(k) != after.get(k))


def tree_state(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``, links not followed: a folder is its name (its entries are listed anyway), a
    regular file its size, mtime and digest, anything else its type. Never opens what is not a regular file."""
    import hashlib

    out: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st_ = os.lstat(p)
            rel = os.path.relpath(p, root)
            if stat.S_ISLNK(st_.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st_.st_mode):
                with open(p, "rb") as fh:
                    out[rel] = ("file", st_.st_size, st_.st_mtime_ns, hashlib.sha256(fh.read()).hexdigest())
            else:
                out[rel] = (stat.S_IFMT(st_.st_mode), stat.S_IMODE(st_.st_mode))
    return out


def check(family: str, command: str, outcome: Outcome, watch: Watch, *, names: Callable[[str], bool] | None = None,
          allow_rc: tuple[int, ...] = (0, 2)) -> None:
    """The one invariant. ``names``: when the command fails, a test of its message (it names the file/option)."""
    TALLY[(family, command, "generated")] += 1
    assert outcome.traceback is None and "Traceback" not in outcome.err, (
        f"{command}: a traceback\n{outcome.traceback or outcome.err}")
    assert outcome.rc in allow_rc, f"{command}: exit code {outcome.rc}\n{outcome.err[-2000:]}"
    if outcome.rc == 2:
        message = outcome.err.strip()
        assert message, f"{command}: exit code 2 without a message"
        if names is not None:
            assert names(message), f"{command}: the message does not name what is wrong: {message[-600:]}"
    changed = watch.changed()
    assert not changed, f"{command}: changed outside its output: {changed[:10]}"
    TALLY[(family, command, "passed")] += 1


def tally_lines() -> list[str]:
    """The tally as table rows: family, command, generated, passed."""
    rows = sorted({(f, c) for f, c, _ in TALLY})
    return [f"{f:<14}{c:<28}{TALLY[(f, c, 'generated')]:>6}{TALLY[(f, c, 'passed')]:>7}" for f, c in rows]


def write_json(path: Path, data) -> None:
    path.write_text(json.dumps(data), encoding="utf-8")


def example_settings(n: int):
    """Hypothesis settings of a generated attack: ``n`` examples, no shrinking (each case runs real commands, and
    the failing case is printed as it was found), no database, no deadline."""
    from hypothesis import HealthCheck, Phase, settings

    return settings(max_examples=n, deadline=None, database=None, print_blob=True,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
