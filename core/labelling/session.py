"""A labelling session: predict a folder of unlabelled images, ask about those that teach most, grow a new dataset.

:meth:`LabellingSession.start` opens the labelled images (a run's dataset, or a dataset folder) and the unlabelled
folder, extracts every image's features once (kept in memory for the session), fits the head and orders what to
ask. Each :meth:`~LabellingSession.answer` is written into the new dataset folder at once (a hard link or a copy,
and labels.csv rewritten atomically); :meth:`~LabellingSession.undo` takes the last one back;
:meth:`~LabellingSession.refit` refits on everything labelled so far (seconds: the features are cached) and
reorders what is left. A folder that already holds a labels.csv from the same sources is resumed.

The window answers on its thread while a refit runs on a worker: the state they share is swapped under a lock.
"""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path

import numpy as np

from foveal.core.cancel import Cancelled, CancelToken
from foveal.core.errors import ConfigError
from foveal.core.labelling.features import (
    Labelled,
    ProgressFn,
    as_files,
    extract,
    open_source,
    unlabelled_files,
)
from foveal.core.labelling.output import DatasetWriter, check_out, existing_rows
from foveal.core.labelling.records import LABELS_CSV, Answer, LabelRow, Round, Status, Suggestion
from foveal.core.labelling.state import Fitted, fit_state, suggestion
from foveal.core.paths import is_inside, printable


class LabellingSession:
    """One labelling session (see the module's docstring); build it with :meth:`start`."""

    classes: tuple[str, ...]
    out: Path
    rounds: list[Round]
    answers: list[Answer]
    answers_since_refit: int

    def __init__(self, labelled: Labelled, labelled_x: np.ndarray, paths: list[str], unlabelled_x: np.ndarray,
                 writer: DatasetWriter | None, seed: int = 0) -> None:
        self.classes = labelled.classes
        self.out = writer.out if writer is not None else Path()
        self.rounds, self.answers, self.answers_since_refit = [], [], 0
        self._labelled = labelled
        self._labelled_x = labelled_x
        self._paths, self._unlabelled_x = paths, unlabelled_x
        self._row = {p: i for i, p in enumerate(paths)}
        self._writer, self._seed = writer, seed
        self._dataset_rows: list[LabelRow] = []
        self._lock = threading.RLock()
        self._fitted: Fitted | None = None

    # ---- starting ---------------------------------------------------------------------------------------------
    @classmethod
    def start(cls, source: str | os.PathLike[str], unlabelled: str | os.PathLike[str],
              out: str | os.PathLike[str] | None, *, weights: str | None = None,
              on_progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> LabellingSession:
        """Open the sources, extract features once, fit and order (blocking: seconds to minutes). ``out`` None
        writes nothing (what :func:`suggest` does). Raises ConfigError / DatasetError with the fix."""
        labelled, encoder = open_source(source, weights)
        unlabelled = os.path.abspath(os.fspath(unlabelled))
        files = unlabelled_files(unlabelled)  # protected from writes from here on
        out_path = check_out(out, labelled.root, unlabelled) if out is not None else None
        rows = existing_rows(out_path) if out_path is not None else None
        if rows is not None and out_path is not None:
            _check_same_sources(rows, labelled.root, unlabelled, out_path)
        known = {os.path.realpath(p) for p in labelled.paths}
        files = [f for f in files if os.path.realpath(f.path) not in known]
        lx, kept = extract(encoder, as_files(list(labelled.paths), labelled.root), "labelled images",
                           on_progress=on_progress, cancel=cancel)
        labelled = Labelled(labelled.root, labelled.classes, tuple(labelled.paths[i] for i in kept),
                            labelled.labels[kept])
        ux, readable = extract(encoder, files, "unlabelled images", on_progress=on_progress, cancel=cancel)
        writer = DatasetWriter(out_path) if out_path is not None else None
        session = cls(labelled, lx, [files[i].path for i in readable], ux, writer)
        if writer is not None:
            session._open_rows(rows or [])
        session.refit(cancel)
        return session

    def _open_rows(self, rows: list[LabelRow]) -> None:
        """Place the labelled images not yet in the folder, take back the answers of a resumed session."""
        placed = {r.source for r in rows if r.status == Status.FROM_DATASET}
        self._dataset_rows = [r for r in rows if r.status == Status.FROM_DATASET]
        for path, label in zip(self._labelled.paths, self._labelled.labels, strict=True):
            if path not in placed:
                self._dataset_rows.append(self._placed_row(path, self.classes[int(label)]))
        for r in rows:
            if r.status != Status.FROM_DATASET:
                self.answers.append(self._resumed(r))
        self._write_rows()

    def _placed_row(self, path: str, label: str) -> LabelRow:
        assert self._writer is not None
        copy = self._writer.place(path, label)
        return LabelRow(path, label, Status.FROM_DATASET, "", None, _now(), self._writer.relative(copy))

    def _resumed(self, r: LabelRow) -> Answer:
        """An answer of a resumed labels.csv; a label that is not a class is refused, naming the row."""
        if r.label is not None and r.label not in self.classes:
            raise ConfigError(f"{printable(self.out / LABELS_CSV)}, line {r.line}: {r.label!r} is not one of the "
                              f"classes ({', '.join(self.classes)}). Correct the row, or choose a new folder.")
        copy = str(self.out / r.file) if r.file else None
        return Answer(r.source, r.label, r.status, r.suggested, r.confidence or 0.0, r.when, copy)

    # ---- what to ask -------------------------------------------------------------------------------------------
    def next(self, n: int = 1) -> list[Suggestion]:
        """What to ask next, best first; answered, skipped and unsure images are left out."""
        with self._lock:
            fitted, done = self._fitted, self._answered()
            if fitted is None:
                return []
            out: list[Suggestion] = []
            for row in fitted.order:
                if len(out) >= n:
                    break
                if self._paths[row] not in done:
                    out.append(suggestion(fitted, int(row), self._paths[row], self.classes))
            return out

    def groups(self) -> dict[str, list[Suggestion]]:
        """The review grid: each class → its suggestions, most confident first; "unfamiliar" → the unfamiliar."""
        with self._lock:
            fitted, done = self._fitted, self._answered()
            grid: dict[str, list[Suggestion]] = {c: [] for c in (*self.classes, "unfamiliar")}
            if fitted is None:
                return grid
            for row, path in enumerate(self._paths):
                if path not in done:
                    s = suggestion(fitted, row, path, self.classes)
                    grid["unfamiliar" if s.unfamiliar else s.suggested].append(s)
        for items in grid.values():
            items.sort(key=lambda s: -s.confidence)
        return grid

    def remaining(self) -> int:
        """Unlabelled images not answered, skipped or marked unsure yet."""
        with self._lock:
            return len(self._paths) - len(self._answered())

    def _answered(self) -> set[str]:
        return {a.source for a in self.answers}

    # ---- answering ---------------------------------------------------------------------------------------------
    def answer(self, path: str, label: str | None, *, unsure: bool = False) -> Answer:
        """Record the person's answer about ``path`` and write it at once (see the module's docstring)."""
        with self._lock:
            row = self._row.get(path)
            if row is None or self._fitted is None:
                raise ConfigError(f"{printable(path)} is not one of the unlabelled images of this session. Answer "
                                  "about an image the session suggested.")
            if path in self._answered():
                raise ConfigError(f"{printable(path)} is answered already. Undo that answer first to change it.")
            if label is not None and label not in self.classes and not unsure:
                raise ConfigError(f"{label!r} is not one of the classes ({', '.join(self.classes)}). Choose one of "
                                  "them, skip the image, or mark it unsure.")
            s = suggestion(self._fitted, row, path, self.classes)
            label = None if unsure else label
            status = (Status.UNSURE if unsure else Status.SKIPPED if label is None else
                      Status.ACCEPTED if label == s.suggested else Status.CHANGED)
            copy = None
            if label is not None and self._writer is not None:
                copy = str(self._writer.place(path, label))
            answer = Answer(path, label, str(status), s.suggested, s.confidence, _now(), copy)
            self.answers.append(answer)
            self.answers_since_refit += 1
            self._write_rows()
            return answer

    def undo(self) -> Answer | None:
        """Take the last answer back: its copy and its row go. None when there is nothing to undo."""
        with self._lock:
            if not self.answers:
                return None
            last = self.answers.pop()
            if last.copy is not None and self._writer is not None:
                self._writer.remove(last.copy)
            self.answers_since_refit = max(0, self.answers_since_refit - 1)
            self._write_rows()
            return last

    def _write_rows(self) -> None:
        if self._writer is None:
            return
        answers = [LabelRow(a.source, a.label, a.status, a.suggested, a.confidence, a.when,
                            self._writer.relative(a.copy) if a.copy else "") for a in self.answers]
        self._writer.write_rows(self._dataset_rows + answers)

    # ---- learning ----------------------------------------------------------------------------------------------
    def refit(self, cancel: CancelToken | None = None) -> Round:
        """Refit on every labelled image (the dataset's and the answers'), reorder what is left (blocking)."""
        with self._lock:
            answered = [(self._row[a.source], self.classes.index(a.label)) for a in self.answers
                        if a.label is not None and a.source in self._row]
            taken = len(self.answers)
        rows = np.array([r for r, _ in answered], np.int64)
        x = np.concatenate([self._labelled_x, self._unlabelled_x[rows]]) if len(rows) else self._labelled_x
        y = np.concatenate([self._labelled.labels, np.array([c for _, c in answered], np.int64)])
        fitted = fit_state(x, y, self._unlabelled_x, self.classes, seed=self._seed)
        if cancel is not None and cancel.cancelled:
            raise Cancelled
        with self._lock:
            self._fitted = fitted
            self.rounds.append(fitted.round)
            self.answers_since_refit = max(0, len(self.answers) - taken)
        return fitted.round


def suggest(source: str | os.PathLike[str], unlabelled: str | os.PathLike[str], n: int, *,
            weights: str | None = None, on_progress: ProgressFn | None = None) -> list[Suggestion]:
    """The ``n`` unlabelled images to label next, best first (nothing is written)."""
    return LabellingSession.start(source, unlabelled, None, weights=weights, on_progress=on_progress).next(n)


def _check_same_sources(rows: list[LabelRow], root: Path, unlabelled: str, out: Path) -> None:
    """A labels.csv resumed must come from the same labelled and unlabelled folders."""
    for r in rows:
        home = root if r.status == Status.FROM_DATASET else Path(unlabelled)
        if not is_inside(r.source, home):
            raise ConfigError(f"{printable(out / LABELS_CSV)} comes from other folders (line {r.line}: "
                              f"{printable(r.source)} is not in {printable(home)}). Choose a new folder for this "
                              "labelling, or the folders that labelling used.")


def _now() -> str:
    """The local time, ISO 8601 to the second."""
    return datetime.now().astimezone().isoformat(timespec="seconds")

