"""How well and how fast Foveal finds copies of an image.

    python benchmarks/bench_duplicates.py [--per-set N] [FOLDER ...]

1. **Precision and recall** on known copies and known distinct images. From ``--per-set`` real images of each
   shared set (BUSI 256 px ultrasound, MedNIST 64 px slices, PneumoniaMNIST 28 px X-rays) copies are made: JPEG
   re-encoding at quality 95/75/50/30, half and double size, half size as JPEG 75 (these are the copies counted
   in the recall), and two edits reported apart (a 3% crop, 10% brighter). Distinct images: every pair of different
   MedNIST and PneumoniaMNIST files (MedNIST's neighbouring slices are the hard ones); pairs whose decoded pixels
   are identical are copies in the data and counted as copies. BUSI's own file pairs are counted apart: a published
   note reports near-duplicates among them, so which are distinct is not known. Precision = copies called copies /
   all pairs called copies. Rules: the hash alone (as before), the hash with the thumbnail check (Foveal's).
2. **Speed on 64,000 images**: grouping synthetic signatures with a low-detail cluster of 16,000 images whose
   hashes share band values, next to the pairs the unbounded band search would have compared; hashing speed is
   measured on the real images of part 1.
3. **The cache**: scan, first search and cached search of each folder (default: the shared BUSI and MedNIST sets).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
COPIES = ("jpeg95", "jpeg75", "jpeg50", "jpeg30", "half", "double", "half_jpeg75")
EDITS = ("crop3%", "bright+10%")


def _variants(path: Path) -> dict:
    """Each copy and edit of one image as (format, picture, save options)."""
    from PIL import Image, ImageEnhance

    with Image.open(path) as im:
        im.load()
        pic = im if im.mode in ("L", "RGB") else im.convert("RGB")
    w, h = pic.size
    half = (max(8, w // 2), max(8, h // 2))
    c = max(1, round(0.03 * min(w, h)))
    out = {f"jpeg{q}": ("JPEG", pic, {"quality": q}) for q in (95, 75, 50, 30)}
    out["half"] = ("PNG", pic.resize(half, Image.Resampling.LANCZOS), {})
    out["double"] = ("PNG", pic.resize((w * 2, h * 2), Image.Resampling.BICUBIC), {})
    out["half_jpeg75"] = ("JPEG", pic.resize(half, Image.Resampling.BILINEAR), {"quality": 75})
    out["crop3%"] = ("PNG", pic.crop((c, c, w - c, h - c)), {})
    out["bright+10%"] = ("PNG", ImageEnhance.Brightness(pic).enhance(1.1), {})
    return out


class Pool:
    """Signatures of originals and copies, and pair labels: (i, j, kind)."""

    def __init__(self) -> None:
        self.hashes: list[int] = []
        self.thumbs: list[bytes] = []
        self.pairs: list[tuple[int, int, str, str]] = []  # i, j, set, kind ("distinct", "unknown" or a copy)
        self.seconds = 0.0
        self.n_hashed = 0
        self.originals: dict[str, list[int]] = {}  # the shared sets' own images, by set

    def add(self, path: str) -> int:
        from foveal.core.split.hashes import image_signature

        t = time.perf_counter()
        s = image_signature(path)
        self.seconds += time.perf_counter() - t
        self.n_hashed += 1
        assert s is not None, path
        self.hashes.append(s.phash)
        self.thumbs.append(s.thumb)
        return len(self.hashes) - 1


def _dataset_pairs(pool: Pool, name: str, ids: list[int], files: list[Path]) -> None:
    """Every pair of the set's files that the hash alone calls copies (others are never called copies)."""
    from foveal.core.data.decode import decode_image
    from foveal.core.split.copysets import THRESHOLD, hash_distance

    h = np.array([pool.hashes[i] for i in ids], dtype=np.uint64)
    for a in range(len(ids) - 1):
        d = hash_distance(np.full(len(ids) - a - 1, h[a]), h[a + 1:])
        for b in (np.flatnonzero(d <= THRESHOLD) + a + 1).tolist():
            if name == "busi":
                kind = "unknown"
            else:
                same = np.array_equal(decode_image(files[a]), decode_image(files[b]))
                kind = "identical pixels" if same else "distinct"
            pool.pairs.append((ids[a], ids[b], name, kind))


def build_pool(per_set: int, seed: int = 0) -> Pool:
    pool = Pool()
    rng = np.random.default_rng(seed)
    work = Path(tempfile.mkdtemp(prefix="foveal-bench-copies-"))
    for name in ("busi", "mednist_small", "pneumoniamnist"):
        files = sorted(p for p in (SHARED / name).rglob("*") if p.suffix.lower() in (".png", ".jpeg", ".jpg"))
        ids = [pool.add(str(p)) for p in files]
        pool.originals[name] = ids
        _dataset_pairs(pool, name, ids, files)
        for k in rng.choice(len(files), min(per_set, len(files)), replace=False).tolist():
            for kind, (fmt, pic, options) in _variants(files[k]).items():
                target = work / f"copy.{fmt.lower()}"
                pic.save(target, fmt, **options)
                pool.pairs.append((ids[k], pool.add(str(target)), name, kind))
        print(f"  {name}: {len(files)} images, {min(per_set, len(files))} copied", file=sys.stderr, flush=True)
    return pool


def accuracy(pool: Pool) -> None:
    from foveal.core.split.copysets import MIN_CORRELATION, THRESHOLD, Pictures

    hashes = np.array(pool.hashes, dtype=np.uint64)
    thumbs = np.frombuffer(b"".join(pool.thumbs), dtype=np.uint8).reshape(len(pool.hashes), -1)
    pictures = Pictures(hashes, thumbs)
    a = np.array([p[0] for p in pool.pairs])
    b = np.array([p[1] for p in pool.pairs])
    is_copy = np.array([k in COPIES or k == "identical pixels" for *_, k in pool.pairs])
    distinct = np.array([k == "distinct" for *_, k in pool.pairs])
    print(f"\n1. Copies found ({len(pool.pairs)} labelled pairs: {int(is_copy.sum())} copies, "
          f"{int(distinct.sum())} distinct pairs within {THRESHOLD} bits)")
    rules = {f"hash within {THRESHOLD} bits (before)": hash_only(pictures, a, b),
             f"hash + thumbnail r >= {MIN_CORRELATION} (now)": pictures.same(a, b)}
    for rule, called in rules.items():
        tp, fp = int((called & is_copy).sum()), int((called & distinct).sum())
        print(f"  {rule}: precision {tp / max(1, tp + fp):.3f} ({fp} distinct pairs called copies), "
              f"recall {tp / is_copy.sum():.3f} ({tp} of {int(is_copy.sum())} copies)")
        _breakdown(pool, called)
    print("  other thumbnail thresholds:")
    for cut in (0.95, 0.98, 0.995, 0.998):
        called = Pictures(hashes, thumbs, min_correlation=cut).same(a, b)
        tp, fp = int((called & is_copy).sum()), int((called & distinct).sum())
        print(f"    r >= {cut}: precision {tp / max(1, tp + fp):.3f} ({fp} distinct), recall {tp / is_copy.sum():.3f}")
    print(f"  hashing: {pool.seconds / pool.n_hashed * 1000:.2f} ms per image on one thread "
          f"({pool.n_hashed} images), {pool.seconds / pool.n_hashed * 64_000:.0f} s for 64,000")


def _breakdown(pool: Pool, called: np.ndarray) -> None:
    """Pairs called copies out of each kind, per set."""
    tally: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (_, _, name, kind), yes in zip(pool.pairs, called.tolist(), strict=True):
        tally[name, kind][0] += yes
        tally[name, kind][1] += 1
    for kind in (*COPIES, "identical pixels", *EDITS, "distinct", "unknown"):
        row = {n: tally[n, kind] for n in ("busi", "mednist_small", "pneumoniamnist") if tally[n, kind][1]}
        if row:
            print(f"    {kind:<17}" + "  ".join(f"{n[:9]:>9} {y:>5}/{t:<5}" for n, (y, t) in row.items()))


def chaining(pool: Pool) -> None:
    """Sets among each shared set's own images: chained by the hash alone (before) and complete-link now."""
    from foveal.core.split.copysets import THRESHOLD, copy_sets, hash_distance

    print("  copy sets among the shared sets' own images (before: hash pairs chained; now):")
    for name, ids in pool.originals.items():
        hashes = np.array([pool.hashes[i] for i in ids], dtype=np.uint64)
        parent = list(range(len(ids)))
        for a in range(len(ids) - 1):
            for b in (np.flatnonzero(hash_distance(np.full(len(ids) - a - 1, hashes[a]), hashes[a + 1:])
                                     <= THRESHOLD) + a + 1).tolist():
                parent[_root(parent, a)] = _root(parent, b)
        before = Counter(_root(parent, i) for i in range(len(ids)))
        chained = sorted((n for n in before.values() if n > 1), reverse=True)
        now = sorted(map(len, copy_sets(hashes, np.frombuffer(b"".join(pool.thumbs[i] for i in ids),
                                                              dtype=np.uint8).reshape(len(ids), -1))), reverse=True)
        print(f"    {name:<15} before {len(chained):>4} sets, largest {chained[:4]}; "
              f"now {len(now):>4} sets, largest {now[:4]}")


def _root(parent: list[int], i: int) -> int:
    while parent[i] != i:
        i = parent[i]
    return i


def hash_only(pictures, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    from foveal.core.split.copysets import hash_distance

    return hash_distance(pictures.hashes[a], pictures.hashes[b]) <= pictures.threshold


def synthetic(n: int = 64_000, cluster: int = 16_000, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Random pictures, a few hundred of them copied, and a low-detail cluster: hashes a few bits from one of
    eight, thumbnails nearly flat or a faint gradient (what thousands of dark slices give)."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**63, n, dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, n, dtype=np.uint64)
    thumbs = rng.integers(0, 256, (n, 64), dtype=np.uint8)
    bases = hashes[:8].copy()
    for i in range(cluster):  # a few bits flipped from one of eight low-detail hashes
        h = bases[i % 8]
        for bit in rng.choice(64, int(rng.integers(0, 4)), replace=False).tolist():
            h ^= np.uint64(1 << bit)
        hashes[i] = h
        thumbs[i] = np.clip(np.linspace(20, 40, 64) * (i % 3) / 2 + rng.normal(0, 0.6, 64) + 10, 0, 255)
    copies = rng.choice(np.arange(cluster, n), 600, replace=False)
    hashes[copies[:300]] = hashes[copies[300:]] ^ np.uint64(0b101)  # 300 re-encoded copies: 2 bits off
    thumbs[copies[:300]] = thumbs[copies[300:]]
    return hashes, thumbs


def speed() -> None:
    from foveal.core.split.copysets import THRESHOLD, copy_sets

    hashes, thumbs = synthetic()
    width = -(-64 // (THRESHOLD + 1))
    unbounded = 0
    for band in range(THRESHOLD + 1):
        counts = Counter(((hashes >> np.uint64(band * width)) & np.uint64((1 << width) - 1)).tolist())
        unbounded += sum(c * (c - 1) // 2 for c in counts.values())
    t = time.perf_counter()
    sets = copy_sets(hashes, thumbs)
    seconds = time.perf_counter() - t
    sizes = sorted((len(s) for s in sets), reverse=True)
    print(f"\n2. Grouping 64,000 signatures (a 16,000-image low-detail cluster): {seconds:.1f} s; "
          f"{len(sets)} sets, largest {sizes[:5]}; the unbounded band search would have compared "
          f"{unbounded:,} pairs")
    from foveal.core.split.balance import SPLITS, Balance, assign_groups

    rng = np.random.default_rng(2)
    labels = [f"class{k}" for k in rng.integers(1, 7, len(hashes))]
    labels[:16_000] = ["class0"] * 16_000  # the low-detail cluster is one class
    groups = [f"image{i}" for i in range(len(hashes))]
    for k, members in enumerate(sets):
        for i in members:
            groups[i] = f"set{k}"
    t = time.perf_counter()
    where = assign_groups(groups, labels, {"val": 0.15, "test": 0.15}, seed=1)
    seconds = time.perf_counter() - t
    balance = Balance.of({s: [c for c, w in zip(labels, where, strict=True) if w == s] for s in SPLITS},
                         sorted(set(labels)))
    print(f"   the stratified split of these 64,000 images, copy sets kept whole: {seconds:.1f} s; stratified: "
          f"{balance.stratified}, largest distance of a class from its share {balance.worst():.2%}")


def cache(folders: list[Path]) -> None:
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.plan import known_duplicates

    print(f"\n3. The cache\n{'dataset':<16}{'images':>8}{'copies':>8}{'scan s':>9}{'first s':>9}{'cached s':>10}")
    for folder in folders:
        t0 = time.perf_counter()
        summary = scan_dataset(folder)
        t1 = time.perf_counter()
        first = known_duplicates(summary)
        t2 = time.perf_counter()
        again = known_duplicates(scan_dataset(folder))
        t3 = time.perf_counter()  # the second scan counted in, as a later run sees it
        assert again == first
        print(f"{folder.name:<16}{summary.total:>8}{len(first):>8}{t1 - t0:>9.1f}{t2 - t1:>9.1f}{t3 - t2:>10.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-set", type=int, default=300, help="images copied per shared set (default 300)")
    parser.add_argument("folders", nargs="*", type=Path, help="folders for the cache timing")
    args = parser.parse_args()
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="foveal-bench-cache-")  # an empty cache to begin
    pool = build_pool(args.per_set)
    accuracy(pool)
    chaining(pool)
    speed()
    cache(args.folders or [SHARED / "busi", SHARED / "mednist_small"])


if __name__ == "__main__":
    main()
