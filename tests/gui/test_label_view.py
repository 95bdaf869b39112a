"""The Label view: keys answer, Undo takes back, refits run in the background while answering goes on, folders
that cannot be used are refused with the reason; and a real walk-through with the real labelling core on real
images, asserting the new dataset folder, its labels.csv and that the sources are byte-identical afterwards."""

from __future__ import annotations

import csv
import hashlib
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu

from foveal.gui.widgets.label_panel import LabelPanel
from foveal.gui.widgets.label_setup import folder_problem
from tests import factory


@dataclass(frozen=True)
class Sug:
    path: str
    suggested: str
    confidence: float
    probabilities: tuple[float, ...]
    unfamiliar: bool
    why: str


@dataclass(frozen=True)
class Ans:
    source: str
    label: str | None
    status: str
    suggested: str
    confidence: float
    when: str
    copy: str | None


@dataclass(frozen=True)
class Rnd:
    n_labelled: int
    accuracy: float | None
    low: float | None
    high: float | None
    plain: str


class FakeSession:
    """core.labelling.LabellingSession's contract, scripted: it records its calls and fails loudly when two
    threads are inside it at once (the real one is not thread-safe)."""

    def __init__(self, unlabelled: str, out: str, refit_gate: threading.Event | None = None) -> None:
        self.classes = ("benign", "malignant")
        self.out = Path(out)
        self.paths = sorted(str(p) for p in Path(unlabelled).rglob("*.png"))
        self.rounds = [Rnd(10, 0.7, 0.5, 0.85, "Estimated accuracy 70% (50–85%) on 10 labelled images")]
        self.answers: list[Ans] = []
        self.answers_since_refit = 0
        self.refit_gate = refit_gate  # a refit waits for it (a test holds it to answer during a refit)
        self.calls: list[str] = []
        self.overlaps = 0
        self._inside = threading.Lock()

    def _enter(self, name: str) -> None:
        if not self._inside.acquire(blocking=False):
            self.overlaps += 1
        else:
            self._inside.release()
        self.calls.append(name)

    def _suggestion(self, i: int, path: str) -> Sug:
        c = self.classes[i % 2]
        return Sug(path, c, 0.6 + 0.01 * i, (0.6, 0.4) if c == "benign" else (0.4, 0.6), i == 5,
                   f"the model hesitates ({i})")

    def _open(self) -> list[Sug]:
        done = {a.source for a in self.answers}
        return [self._suggestion(i, p) for i, p in enumerate(self.paths) if p not in done]

    def next(self, n: int = 1) -> list[Sug]:
        with self._inside:
            return self._open()[:n]

    def groups(self) -> dict[str, list[Sug]]:
        out: dict[str, list[Sug]] = {"benign": [], "malignant": [], "unfamiliar": []}
        for s in self._open():
            out["unfamiliar" if s.unfamiliar else s.suggested].append(s)
        return out

    def remaining(self) -> int:
        return len(self._open())

    def answer(self, path: str, label: str | None, *, unsure: bool = False) -> Ans:
        self._enter("answer")
        with self._inside:
            s = next(s for s in self._open() if s.path == path)
            status = ("unsure" if unsure else "skipped") if label is None else \
                "accepted" if label == s.suggested else "changed"
            a = Ans(path, label, status, s.suggested, s.confidence, "2024-05-01T10:00:00", None)
            self.answers.append(a)
            self.answers_since_refit += 1
            return a

    def undo(self) -> Ans | None:
        self._enter("undo")
        with self._inside:
            return self.answers.pop() if self.answers else None

    def refit(self, cancel=None) -> Rnd:
        self._enter("refit")
        with self._inside:
            if self.refit_gate is not None:
                self.refit_gate.wait(10)
            n = 10 + sum(a.label is not None for a in self.answers)
            r = Rnd(n, 0.8, 0.6, 0.9, f"Estimated accuracy 80% (60–90%) on {n} labelled images")
            self.rounds.append(r)
            self.answers_since_refit = 0
            self.paths.reverse()  # a new order
            return r


@pytest.fixture
def folders(tmp_path):
    dataset = factory.make_class_folder(tmp_path / "data", {"benign": 4, "malignant": 4}, size=40)
    unlabelled = factory.make_class_folder(tmp_path / "unlabelled", {"x": 12}, size=40)
    return dataset, unlabelled, tmp_path / "new"


def open_panel(qtbot, folders, gate=None):
    dataset, unlabelled, out = folders
    made: list[FakeSession] = []

    def start(source, unl, out_, *, weights, on_progress, cancel):
        on_progress(1, 2, "Extracting features")
        made.append(FakeSession(unl, out_, gate))
        return made[0]

    panel = LabelPanel(start_fn=start)
    qtbot.addWidget(panel)
    panel.resize(1000, 700)
    panel.show()
    panel.setup.choose(source=str(dataset), unlabelled=str(unlabelled), out=str(out))
    assert panel.setup.start_button.isEnabled(), panel.setup.why.text()
    panel.setup.start_button.click()
    qtbot.waitUntil(lambda: panel.ask.current is not None, timeout=10_000)
    return panel, made[0]


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: panel.jobs.idle, timeout=10_000)


def test_keys_answer_skip_unsure_and_undo(qtbot, folders):
    panel, session = open_panel(qtbot, folders)
    ask = panel.ask
    first = ask.current
    qtbot.keyClick(ask, Qt.Key.Key_2)  # the second class
    second = ask.current
    assert second.path != first.path  # the next image is shown at once, before the answer is written
    qtbot.keyClick(ask, Qt.Key.Key_Return)  # the suggestion
    third = ask.current
    qtbot.keyClick(ask, Qt.Key.Key_S)
    qtbot.keyClick(ask, Qt.Key.Key_U)
    settle(qtbot, panel)
    assert [(a.source, a.label, a.status) for a in session.answers] == [
        (first.path, "malignant", "accepted" if first.suggested == "malignant" else "changed"),
        (second.path, second.suggested, "accepted"),
        (third.path, None, "skipped"),
        (session.answers[3].source, None, "unsure")]
    fifth = ask.current
    qtbot.keyClick(ask, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, panel)
    assert len(session.answers) == 3
    assert ask.current.path == session.paths[3] != fifth.path  # the unsure image is asked again
    assert "3</b> answered" in ask.counters.text() and "9</b> left" in ask.counters.text()
    assert not panel.done.isHidden() and panel.done.path.endswith("labels.csv")
    assert session.overlaps == 0


def test_refit_runs_in_the_background_while_answering_goes_on(qtbot, folders):
    gate = threading.Event()
    panel, session = open_panel(qtbot, folders, gate)
    panel.ask.every.setValue(2)
    for _ in range(2):
        qtbot.keyClick(panel.ask, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: "refit" in session.calls, timeout=5_000)
    assert "Learning from your answers" in panel.ask.refit_state.text()
    shown = panel.ask.current.path
    qtbot.keyClick(panel.ask, Qt.Key.Key_Return)  # answered during the refit: queued behind it
    assert panel.ask.current.path != shown
    assert session.calls.count("answer") == 2
    gate.set()
    settle(qtbot, panel)
    assert session.calls == ["answer", "answer", "refit", "answer"]
    assert session.overlaps == 0
    assert panel.ask.rounds.text().startswith("<b>Round 2: Estimated accuracy 80%") and "Round 1" in \
        panel.ask.rounds.text()
    answered = {a.source for a in session.answers}
    assert panel.ask.current.path not in answered and not answered & {s.path for s in panel.queue}
    panel.ask.refit_button.click()  # on request too
    settle(qtbot, panel)
    assert session.calls.count("refit") == 2


def test_answers_queued_behind_a_refit_are_written_when_the_window_closes(qtbot, folders):
    gate = threading.Event()
    panel, session = open_panel(qtbot, folders, gate)
    panel.refit_now()
    qtbot.waitUntil(lambda: "refit" in session.calls, timeout=5_000)
    shown = panel.ask.current
    qtbot.keyClick(panel.ask, Qt.Key.Key_Return)
    threading.Timer(0.3, gate.set).start()  # the refit ends while the window waits for it
    assert panel.runner.shutdown(10_000)
    assert session.calls == ["refit", "answer"]
    assert (session.answers[0].source, session.answers[0].label) == (shown.path, shown.suggested)
    assert session.overlaps == 0


def test_heatmap_key_says_why_there_is_none_for_a_dataset(qtbot, folders):
    panel, _session = open_panel(qtbot, folders)
    qtbot.keyClick(panel.ask, Qt.Key.Key_H)
    assert panel.ask.note.text().startswith("No heatmap: no trained run")


def test_grid_groups_by_suggestion_and_a_click_asks_about_it(qtbot, folders):
    panel, session = open_panel(qtbot, folders)
    titles = [panel.grid.bar.tabText(i) for i in range(panel.grid.bar.count())]
    assert titles == ["benign (6)", "malignant (5)", "Unfamiliar (1): maybe a class you do not have yet"]
    assert panel.grid.list.item(0).text().endswith("%")  # a suggestion's confidence
    panel.grid.bar.setCurrentIndex(2)
    stranger = panel.grid.list.item(0)
    assert stranger.text().endswith("?") and "%" not in stranger.text()  # a guess, not a confidence
    assert "no suggestion (unfamiliar)" in stranger.toolTip()
    panel.grid.list.itemClicked.emit(stranger)
    assert panel.ask.current.unfamiliar and "<b>No suggestion</b>" in panel.ask.suggestion.text()
    assert "guess would be" in panel.ask.suggestion.text() and not panel.ask.accept_button.isEnabled()
    answered = len(session.answers)
    qtbot.keyClick(panel.ask, Qt.Key.Key_Return)  # nothing to accept: it says why, and nothing is written
    assert "no suggestion to accept" in panel.ask.note.text() and len(session.answers) == answered


def test_folders_that_cannot_be_used_are_refused_with_the_reason(tmp_path, folders):
    dataset, unlabelled, out = folders
    assert "inside the unlabelled folder" in folder_problem(str(dataset), str(unlabelled), str(unlabelled / "new"))
    assert "inside the dataset folder" in folder_problem(str(dataset), str(unlabelled), str(dataset / "more"))
    assert "holds the unlabelled folder" in folder_problem(str(dataset), str(unlabelled), str(tmp_path))
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("x")
    assert "already holds other files" in folder_problem(str(dataset), str(unlabelled), str(tmp_path / "busy"))
    assert folder_problem(str(dataset), str(unlabelled), str(out)) is None


def test_the_window_has_a_label_view_offering_the_dataset(qtbot, make_window, dataset):
    from tests.gui.conftest import load

    window = make_window()
    load(qtbot, window, dataset)
    panel = window.labelling.panel
    assert window.right_tabs.tabText(window.right_tabs.indexOf(panel)) == "7  Label"
    assert panel.setup.source_combo.findData(str(dataset)) >= 0
    go = next(m for m in window.menuBar().findChildren(QMenu) if m.title() == "&Go")
    seventh = go.actions()[-1]
    assert seventh.text() == "7  Label" and seventh.shortcut().toString() == "Ctrl+7"
    seventh.trigger()
    assert window.right_tabs.currentWidget() is panel


# ---- the real walk-through ----------------------------------------------------------------------------------------
def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _real_images(tmp_path: Path) -> tuple[Path, Path]:
    """A small labelled set (3 per class) and 8 unlabelled images, copied from MedNIST-small."""
    root = factory.SHARED / "data" / "mednist_small"
    if not root.is_dir():
        pytest.skip(f"real images not found at {root} (shared/data/README.md)")
    classes = sorted(p for p in root.iterdir() if p.is_dir())[:2]
    labelled, unlabelled = tmp_path / "labelled", tmp_path / "unlabelled" / "batch 1"
    for c in classes:
        files = sorted(f for f in c.iterdir() if f.is_file())
        (labelled / c.name).mkdir(parents=True)
        for f in files[:4]:
            shutil.copy(f, labelled / c.name / f.name)
        unlabelled.mkdir(parents=True, exist_ok=True)
        for f in files[4:8]:
            shutil.copy(f, unlabelled / f"{c.name}-{f.name}")
    return labelled, unlabelled.parent


def test_real_walk_through_by_keyboard(qtbot, tmp_path):
    pytest.importorskip("foveal.core.labelling", reason="the labelling core is not installed")
    weights = factory.real_weights()
    labelled, unlabelled = _real_images(tmp_path)
    before = (_digest(labelled), _digest(unlabelled))
    out = tmp_path / "grown"
    panel = LabelPanel(weights_fn=lambda: weights)
    qtbot.addWidget(panel)
    panel.resize(1200, 720)
    panel.show()
    panel.setup.choose(source=str(labelled), unlabelled=str(unlabelled), out=str(out))
    panel.setup.start_button.click()
    qtbot.waitUntil(lambda: panel.ask.current is not None or panel.setup.words.isVisible()
                    and "color" in panel.setup.words.text(), timeout=600_000)
    assert panel.ask.current is not None, panel.setup.words.text()
    classes = panel.ask.classes
    panel.ask.every.setValue(3)
    asked = []
    for key in (Qt.Key.Key_Return, Qt.Key.Key_2, Qt.Key.Key_1, Qt.Key.Key_S, Qt.Key.Key_Return):
        asked.append(panel.ask.current)
        if key == Qt.Key.Key_Return and panel.ask.current.unfamiliar:  # no suggestion to accept: its number
            key = Qt.Key(Qt.Key.Key_1.value + classes.index(panel.ask.current.suggested))
        qtbot.keyClick(panel.ask, key)
        time.sleep(0.05)
    qtbot.keyClick(panel.ask, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # the last Enter taken back
    qtbot.waitUntil(lambda: panel.jobs.idle and not panel.jobs.refitting, timeout=300_000)
    session = panel.jobs.session
    assert len(session.rounds) >= 2  # the refit after three labels ran
    rows = list(csv.DictReader((out / "labels.csv").read_text(encoding="utf-8").splitlines()))
    mine = {r["source"]: r for r in rows if r["status"] != "from dataset"}
    expected = {asked[0].path: (asked[0].suggested, "accepted"), asked[1].path: (classes[1], None),
                asked[2].path: (classes[0], None), asked[3].path: ("", "skipped")}
    assert set(mine) == set(expected)
    for path, (label, status) in expected.items():
        assert mine[path]["label"] == label
        assert mine[path]["status"] == (status or ("accepted" if mine[path]["suggested"] == label else "changed"))
        if label:
            assert (out / mine[path]["file"]).is_file() and Path(mine[path]["file"]).parts[0] == label
    assert sum(r["status"] == "from dataset" for r in rows) == 8
    assert asked[4].path not in mine and panel.ask.current.path == asked[4].path  # undone: asked again
    assert (_digest(labelled), _digest(unlabelled)) == before
    assert panel.runner.shutdown(60_000)
