"""The labelling session on real images with the real weights: the written dataset, labels.csv, undo, refit,
resume, the folders it refuses, and sources left byte-identical; the order it asks in, kept honest on real data."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from foveal.core.errors import ConfigError
from tests.factory import SHARED, real_weights

MEDNIST = SHARED / "data" / "mednist_small"
PNEUMONIA = SHARED / "data" / "pneumoniamnist"
CLASSES = ("BreastMRI", "Hand", "HeadCT")


def _real(folder: Path) -> Path:
    if not folder.is_dir():
        pytest.skip(f"real images not found at {folder} (shared/data/README.md)")
    return folder


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[Path, Path]:
    """3 labelled images per class (3 classes of MedNIST) and 12 unlabelled ones in a nested folder."""
    src = _real(MEDNIST)
    base = tmp_path_factory.mktemp("labelling")
    for c in CLASSES:
        files = sorted((src / c).iterdir())
        (base / "data" / c).mkdir(parents=True)
        (base / "unlabelled" / "day1").mkdir(parents=True, exist_ok=True)
        for f in files[:3]:
            shutil.copy(f, base / "data" / c / f.name)
        for f in files[3:7]:
            shutil.copy(f, base / "unlabelled" / "day1" / f"{c}_{f.name}")
    return base / "data", base / "unlabelled"


def _digests(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def _rows(out: Path) -> list[dict]:
    with open(out / "labels.csv", encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _truth(path: str) -> str:
    return Path(path).name.split("_")[0]


def test_a_session_writes_each_answer_undoes_refits_and_resumes(sources, tmp_path):
    from foveal.core.labelling import LabellingSession

    data, unlabelled = sources
    before = _digests(data, unlabelled)
    out = tmp_path / "grown"
    s = LabellingSession.start(data, unlabelled, out, weights=real_weights())
    assert s.classes == CLASSES and s.remaining() == 12
    assert s.rounds[0].n_labelled == 9 and s.rounds[0].accuracy is not None
    assert s.rounds[0].low <= s.rounds[0].accuracy <= s.rounds[0].high
    assert [r["status"] for r in _rows(out)] == ["from dataset"] * 9
    assert sorted(p.parent.name for p in out.rglob("*.jpeg")) == sorted(CLASSES * 3)

    first, second, third = s.next(3)
    assert len({first.path, second.path, third.path}) == 3 and first.why and 0 < first.confidence <= 1
    assert abs(sum(first.probabilities) - 1) < 1e-4
    accepted = s.answer(first.path, first.suggested)
    other = next(c for c in CLASSES if c != second.suggested)
    changed = s.answer(second.path, other)
    skipped = s.answer(third.path, None)
    assert (accepted.status, changed.status, skipped.status) == ("accepted", "changed", "skipped")
    assert Path(changed.copy).parent.name == other and Path(changed.copy).read_bytes() == Path(second.path).read_bytes()
    assert skipped.copy is None and s.remaining() == 9 and s.answers_since_refit == 3
    assert {x.path for x in s.next(20)}.isdisjoint({first.path, second.path, third.path})
    rows = _rows(out)
    assert [r["status"] for r in rows[9:]] == ["accepted", "changed", "skipped"]
    assert rows[10]["file"] == f"{other}/{Path(second.path).name}" and rows[10]["suggested"] == second.suggested
    assert float(rows[10]["confidence"]) == pytest.approx(second.confidence, abs=1e-4)

    assert s.undo() == skipped and s.undo() == changed
    assert not Path(changed.copy).exists() and len(_rows(out)) == 10 and s.remaining() == 11
    with pytest.raises(ConfigError, match="not one of the classes"):
        s.answer(second.path, "Kidney")
    round_ = s.refit()
    assert round_.n_labelled == 10 and len(s.rounds) == 2 and s.answers_since_refit == 0
    assert "cross-validation on 10 labelled images" in round_.plain

    again = LabellingSession.start(data, unlabelled, out, weights=real_weights())
    assert [a.source for a in again.answers] == [first.path] and again.remaining() == 11
    assert len(_rows(out)) == 10 and again.rounds[0].n_labelled == 10
    assert _digests(data, unlabelled) == before


def test_groups_hold_every_image_left_once(sources, tmp_path):
    from foveal.core.labelling import LabellingSession

    data, unlabelled = sources
    s = LabellingSession.start(data, unlabelled, None, weights=real_weights())
    grid = s.groups()
    assert set(grid) == {*CLASSES, "unfamiliar"}
    paths = [x.path for items in grid.values() for x in items]
    assert len(paths) == len(set(paths)) == 12
    for name, items in grid.items():
        assert all(x.unfamiliar == (name == "unfamiliar") for x in items)
        assert [x.confidence for x in items] == sorted((x.confidence for x in items), reverse=True)
    right = sum(_truth(x.path) == x.suggested for items in grid.values() for x in items)
    assert right >= 9, f"only {right} of 12 suggestions right on three easy MedNIST classes"


def test_the_new_folder_must_be_outside_the_sources_and_new(sources, tmp_path):
    from foveal.core.labelling import LabellingSession

    data, unlabelled = sources
    before = _digests(data, unlabelled)
    for inside in (data / "more", unlabelled / "day1" / "grown", data.parent):
        with pytest.raises(ConfigError, match="outside both"):
            LabellingSession.start(data, unlabelled, inside, weights=real_weights())
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        LabellingSession.start(data, unlabelled, busy, weights=real_weights())
    assert _digests(data, unlabelled) == before and (busy / "notes.txt").read_text() == "mine"


def test_import_builds_a_dataset_from_a_hand_written_labels_file(sources, tmp_path):
    from foveal.core.labelling import import_labels, read_labels_csv

    data, unlabelled = sources
    before = _digests(data, unlabelled)
    picked = sorted((unlabelled / "day1").iterdir())[:2]
    labels = tmp_path / "mine.csv"
    labels.write_text(f"source,label\n{picked[0]},{_truth(str(picked[0]))}\n"
                      f"{os.path.relpath(picked[1], tmp_path)},\n", encoding="utf-8")
    done = import_labels(data, labels, tmp_path / "new")
    assert done.total == 10 and done.from_dataset == 9 and done.from_labels == 1 and done.without_label == 1
    rows = read_labels_csv(tmp_path / "new" / "labels.csv")
    assert [r.status for r in rows[-2:]] == ["imported", "imported"] and rows[-1].label is None
    assert (tmp_path / "new" / rows[-2].file).read_bytes() == picked[0].read_bytes()
    labels.write_text("source,label\nmissing.png,Hand\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"mine.csv, line 2: .*missing.png is not a file"):
        import_labels(data, labels, tmp_path / "new2")
    assert not (tmp_path / "new2").exists() and _digests(data, unlabelled) == before


def test_the_order_teaches_more_than_random_on_real_images():
    """PneumoniaMNIST (real chest X-rays), raw pixels as features: after six rounds of 20 answers from 5 per class,
    the diverse order's held-out accuracy beats random order's (measured: 89.6% against 87.4%, 3 seeds)."""
    from sklearn.model_selection import train_test_split

    from foveal.core.labelling.head import fit
    from foveal.core.labelling.state import fit_state

    root = _real(PNEUMONIA)
    paths = [p for c in ("normal", "pneumonia") for p in sorted((root / c).iterdir())[:300]]
    y = np.repeat([0, 1], 300)
    x = np.stack([_pixels(p) for p in paths])
    final = {}
    for method in ("diverse", "random"):
        accuracies = []
        for seed in range(3):
            pool, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y, random_state=seed)
            rng = np.random.default_rng(seed)
            labelled = [int(i) for c in (0, 1) for i in rng.choice(pool[y[pool] == c], 5, replace=False)]
            for _ in range(6):
                left = np.setdiff1d(pool, labelled)
                fitted = fit_state(x[labelled], y[labelled], x[left], ("normal", "pneumonia"), method=method,
                                   seed=seed)
                labelled += [int(i) for i in left[fitted.order[:20]]]
            head = fit(x[labelled], y[labelled], 2, seed=seed)
            accuracies.append((head.probabilities(x[test]).argmax(axis=1) == y[test]).mean())
        final[method] = float(np.mean(accuracies))
    assert final["diverse"] >= final["random"] + 0.01, final


def _pixels(path: Path) -> np.ndarray:
    """The image's grey levels as one row in 0…1."""
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("L"), np.float32).ravel() / 255
