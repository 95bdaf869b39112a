"""The Label view: Foveal sorts a folder of unlabelled images, asks about the ones that teach it most, and grows a
new dataset folder from the answers (the sources are only read).

The session lives in :class:`~foveal.gui.workers.label_worker.LabelJobs`, which runs every call on it off the GUI
thread, in order. This panel keeps its own list of what to ask next, so the next image shows as soon as a key is
pressed; the answer is written behind it, and the list is re-ordered whenever a refit ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from foveal.gui.widgets.done_banner import DoneBanner
from foveal.gui.widgets.label_ask import AskView
from foveal.gui.widgets.label_grid import LabelGrid
from foveal.gui.widgets.label_images import PictureCache
from foveal.gui.widgets.label_setup import LabelSetup, is_run_folder
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner
from foveal.gui.workers.label_worker import LabelJobs, Snapshot
from foveal.gui.workers.thumbnails import array_to_qimage

#: Pictures decoded ahead of the one shown.
PREFETCH = 4
#: Below this many images in hand, what to ask next is read again.
LOW_WATER = 10


class LabelPanel(QWidget):
    """``start_fn`` replaces ``LabellingSession.start`` (tests), ``explain_fn(model, path, class_index)`` gives a
    heatmap (``gui.workers.evaluation_jobs.ModelJobs.explain``), ``weights_fn()`` the Model view's weights for a
    dataset source."""

    sig_message = Signal(str)
    """A line for the status bar."""
    sig_unexpected = Signal(str, str)
    """A bug in a worker: message and details."""

    def __init__(self, start_fn: Callable | None = None, explain_fn: Callable | None = None,
                 weights_fn: Callable[[], str | None] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.explain_fn, self.weights_fn = explain_fn, weights_fn
        self.jobs = LabelJobs(start_fn, self)
        self.runner = JobRunner(self)  # heatmaps; the session's jobs and the pictures are adopted
        self.cache = PictureCache(self)
        self.runner.adopt(self.jobs)
        self.runner.adopt(self.cache)
        self.source = ""
        self.snap: Snapshot | None = None
        self._reset_answers()
        self._make_widgets()
        self._layout()
        self._connect()

    def _reset_answers(self) -> None:
        self.queue: list[Any] = []  # core.labelling.Suggestion, best first, the one shown excluded
        self.current: Any = None
        self.history: list[Any] = []  # the suggestions answered in this sitting, for Undo
        self.answered: dict[str, str] = {}  # path -> the answer given
        self.since_refit = 0
        self._delta = 0  # answers queued but not written yet (minus undos queued)
        self.heatmaps: dict[str, QImage] = {}

    def _make_widgets(self) -> None:
        self.setup = LabelSetup()
        self.summary = QLabel("")
        self.summary.setWordWrap(True)
        self.change_button = QPushButton("Change…")
        self.change_button.setToolTip("Choose another source, unlabelled folder or new dataset folder")
        self.done = DoneBanner()
        self.done.folder_button.setText("Open folder")
        self.ask = AskView()
        self.grid = LabelGrid()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.ask, "Answer (keys 1–9, Enter, S, U, H)")
        self.tabs.addTab(self.grid, "All images by suggestion")

    def _layout(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.change_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.setup)
        layout.addLayout(top)
        layout.addWidget(self.done)
        layout.addWidget(self.tabs, 1)
        self._show_open(False)

    def _connect(self) -> None:
        self.setup.sig_start.connect(self.start)
        self.setup.sig_stop.connect(self._on_stop_opening)
        self.change_button.clicked.connect(self._on_change_clicked)
        self.jobs.sig_progress.connect(self.setup.show_progress)
        self.jobs.sig_opened.connect(self._on_opened)
        self.jobs.sig_done.connect(self._on_job_done)
        self.jobs.sig_failed.connect(self._on_failed)
        self.jobs.sig_busy.connect(self._on_refit_busy)
        self.cache.sig_ready.connect(self._on_picture_ready)
        self.ask.sig_answer.connect(self._on_answer)
        self.ask.sig_undo.connect(self.undo)
        self.ask.sig_heatmap.connect(self._on_heatmap_toggled)
        self.ask.sig_refit.connect(self.refit_now)
        self.grid.sig_chosen.connect(self._on_grid_chosen)

    def _show_open(self, open_: bool) -> None:
        """Before a session is open the choices fill the view; after, one line says what is being labelled."""
        self.setup.setVisible(not open_)
        self.summary.setVisible(open_)
        self.change_button.setVisible(open_)
        self.tabs.setVisible(open_)

    # ---- opening ----------------------------------------------------------------------------------------------
    def set_sources(self, run: str | None, dataset: str | None) -> None:
        self.setup.set_sources(run, dataset)

    @Slot(str, str, str)
    def start(self, source: str, unlabelled: str, out: str) -> None:
        """Open a session on a worker thread: TensorFlow loads, the features are extracted, the model predicts."""
        weights = None if is_run_folder(source) or self.weights_fn is None else self.weights_fn()
        if not self.jobs.open_session(source, unlabelled, out, weights):
            self.sig_message.emit("Wait a moment: labelling is being opened, or the last answers are being written.")
            return
        self.source = source
        self.done.hide()
        self.setup.show_opening(True)
        self.sig_message.emit(f"Sorting {unlabelled}…")

    @Slot()
    def _on_stop_opening(self) -> None:
        self.jobs.cancel_opening()
        self.setup.show_error("Stopped: nothing was written. Start again when you like.")

    @Slot(object)
    def _on_opened(self, snap: Snapshot) -> None:
        self._reset_answers()
        self.snap = snap
        self.setup.show_opening(False)
        self.ask.set_classes(snap.classes)
        self.ask.heatmap_button.setChecked(False)
        kind = "the run" if is_run_folder(self.source) else "the dataset"
        self.summary.setText(f"Learning from {kind} <b>{Path(self.source).name}</b>; answers go to "
                             f"<b>{snap.out}</b> (the image folders are only read).")
        self.summary.setToolTip(f"{self.source}\n{self.setup.unlabelled}\n{snap.out}")
        self._show_open(True)
        self.tabs.setCurrentWidget(self.ask)
        self._take_order(snap)
        if snap.groups is not None:
            self.grid.show_groups(snap.groups)
        self._show_state()
        self._show_next()
        self.ask.setFocus()
        self.sig_message.emit(f"{snap.remaining} images to label: answer with the keys 1–{min(len(snap.classes), 9)}, "
                              "Enter to accept the suggestion")

    @Slot()
    def _on_change_clicked(self) -> None:
        self._show_open(False)

    # ---- asking -----------------------------------------------------------------------------------------------
    @property
    def left(self) -> int:
        return 0 if self.snap is None else max(self.snap.remaining - self._delta, 0)

    @property
    def answered_count(self) -> int:
        return 0 if self.snap is None else self.snap.answered + self._delta

    def _take_order(self, snap: Snapshot) -> None:
        """The session's new order, less what was answered since and the image on screen."""
        if snap.order is None:
            return
        shown = self.current.path if self.current is not None else None
        self.queue = [s for s in snap.order if s.path not in self.answered and s.path != shown]

    def _show_next(self) -> None:
        """Ask about the first image in hand at once; decode the following ones ahead."""
        while self.queue and self.queue[0].path in self.answered:
            self.queue.pop(0)
        if not self.queue:
            self.current = None
            if self.left > 0:
                self.ask.clear("Choosing what to ask next…")
                self.jobs.fetch_next()
            else:
                self.ask.clear("Every image is answered. The new dataset folder is complete: train on it in step 1.")
            return
        self.current = self.queue.pop(0)
        self.ask.ask(self.current, self.cache.get(self.current.path))
        self.cache.want([self.current.path] + [s.path for s in self.queue[:PREFETCH]])
        if self.ask.heatmap_on:
            self._want_heatmap(self.current)
        if len(self.queue) < LOW_WATER and self.left > len(self.queue) + 1:
            self.jobs.fetch_next()

    @Slot(str, QImage, str)
    def _on_picture_ready(self, path: str, image: QImage, problem: str) -> None:
        if self.current is not None and path == self.current.path and not self.ask.shown_path:
            self.ask.show_picture(path, image, problem)

    @Slot(str, object, bool)
    def _on_answer(self, path: str, label: str | None, unsure: bool) -> None:
        if self.current is None or path != self.current.path:
            return
        self.jobs.answer(path, label, unsure)
        self.answered[path] = label or ("unsure" if unsure else "skipped")
        self.history.append(self.current)
        self._delta += 1
        self.since_refit += label is not None
        self.current = None
        self._show_next()
        self.grid.mark_answered(self.answered)
        self._show_state()
        if self.since_refit >= self.ask.every.value():
            self.refit_now()

    @Slot()
    def undo(self) -> None:
        """Take the last answer of this sitting back and ask about its image again."""
        if not self.history:
            self.sig_message.emit("Nothing to undo.")
            return
        s = self.history.pop()
        label = self.answered.pop(s.path, None)
        self.jobs.undo()
        self._delta -= 1
        if label not in (None, "skipped", "unsure"):
            self.since_refit = max(self.since_refit - 1, 0)
        if self.current is not None:
            self.queue.insert(0, self.current)
        self.queue.insert(0, s)
        self.current = None
        self._show_next()
        self.grid.mark_answered(self.answered)
        self._show_state()
        self.sig_message.emit(f"Undone: {Path(s.path).name} is asked again.")

    @Slot()
    def refit_now(self) -> None:
        """Learn again from every answer so far, in the background; answering goes on meanwhile."""
        if self.jobs.refit():
            self.since_refit = 0

    @Slot(object)
    def _on_grid_chosen(self, suggestion: Any) -> None:
        if self.current is not None:
            self.queue.insert(0, self.current)
        self.queue = [suggestion] + [s for s in self.queue if s.path != suggestion.path]
        self.current = None
        self.tabs.setCurrentWidget(self.ask)
        self._show_next()
        self.ask.setFocus()

    # ---- what the session reports ------------------------------------------------------------------------------
    @Slot(str, object)
    def _on_job_done(self, kind: str, snap: Snapshot) -> None:
        self._delta += {"answer": -1, "undo": 1}.get(kind, 0)
        self.snap = snap
        self._take_order(snap)
        if snap.groups is not None:
            self.grid.show_groups(snap.groups)
            self.grid.mark_answered(self.answered)
        if self.current is None and (self.queue or self.left == 0):
            self._show_next()
        if kind == "refit" and snap.last is not None:
            self.sig_message.emit(f"Learned again: {snap.last.plain}")
        if kind in ("answer", "undo"):
            csv = os.path.join(snap.out, "labels.csv")
            self.done.show_done(f"{snap.answered} answers written to the new dataset folder {snap.out}; "
                                "labels.csv records each image's source, label, suggestion and time.", csv)
        self._show_state()

    def _show_state(self) -> None:
        self.ask.show_counts(self.answered_count, self.left)
        self.ask.show_rounds(self.snap.rounds if self.snap else (), self.jobs.refitting)

    @Slot(bool)
    def _on_refit_busy(self, _busy: bool) -> None:
        self._show_state()

    @Slot(str, str, bool)
    def _on_failed(self, message: str, details: str, user_error: bool) -> None:
        if self.jobs.session is None:
            self.setup.show_error(message)
            self._show_open(False)
        else:
            self.done.show_problem(message)
        self.sig_message.emit(message)
        if not user_error:
            self.sig_unexpected.emit(message, details)

    # ---- heatmaps ----------------------------------------------------------------------------------------------
    @Slot(bool)
    def _on_heatmap_toggled(self, on: bool) -> None:
        if self.current is None:
            return
        if on:
            self._want_heatmap(self.current)
        else:
            picture = self.cache.get(self.current.path)
            if picture is not None:
                self.ask.show_picture(self.current.path, *picture)

    def _want_heatmap(self, s: Any) -> None:
        if not is_run_folder(self.source) or self.explain_fn is None:
            self.ask.show_heatmap(s.path, None, "no trained run (Foveal is learning from a dataset: heatmaps come "
                                  "from a run's model)")
            return
        if s.path in self.heatmaps:
            self.ask.show_heatmap(s.path, self.heatmaps[s.path])
            return
        index = self.ask.classes.index(s.suggested)
        self.runner.start("explain", CallWorker(self.explain_fn, self.source, s.path, index),
                          self._on_heatmap_ready, self._on_heatmap_failed)

    @Slot(object)
    def _on_heatmap_ready(self, explanation: Any) -> None:
        image = array_to_qimage(explanation.picture)
        self.heatmaps[explanation.path] = image
        self.ask.show_heatmap(explanation.path, image)

    @Slot(str, str, bool)
    def _on_heatmap_failed(self, message: str, _details: str, _user_error: bool) -> None:
        if self.current is not None:
            self.ask.show_heatmap(self.current.path, None, message)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if self.jobs.session is not None:
            self.ask.setFocus()
