"""How a run's model was made, in plain words, said once: which classifier the recipe chose and why, which images
it learned from, how many training rounds it had, what fine-tuning changed, how its confidence was adjusted, and
which check found which copies of an image. The report's front page and its appendix both read these, so they
cannot disagree; the technical names (C, pooling, out of fold, temperature) are left to the appendix."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from foveal.core.run_record import RunRecord

#: What run.json calls the out-of-fold answers of the training and validation images, for a reader who does not
#: know "out of fold".
OUT_OF_FOLD_PLAIN = "training and validation images, each judged by a classifier fitted without that image"

_POOLING = {"avg": "averaged over the whole image", "max": "taking the strongest response anywhere in the image",
            "grid": "averaged over each of four quarters of the image"}
_POOLING_TECHNICAL = {"avg": "global average pooling", "max": "global max pooling",
                      "grid": "2×2-grid average pooling"}


def images_words(on: str | None) -> str:
    """The images a temperature or a threshold was set on, in plain words (run.json names them technically)."""
    from foveal.core.training.heldout import OUT_OF_FOLD

    if not on:
        return "validation images"
    return OUT_OF_FOLD_PLAIN if on == OUT_OF_FOLD else on


def pooling_words(pooling: str | None) -> str:
    """How the backbone's picture of the image becomes one list of numbers, in plain words."""
    return _POOLING.get(pooling or "avg", _POOLING["avg"])


def pooling_technical(pooling: str | None) -> str:
    return _POOLING_TECHNICAL.get(pooling or "avg", f"{pooling} pooling")


def is_linear(run: RunRecord) -> bool:
    """Whether the run's classifier is a linear one fitted directly (no training rounds of its own)."""
    return run.recipe.winner is not None and run.recipe.winner.head == "linear"


def fitted_on_all(run: RunRecord) -> bool:
    """Whether the final classifier was fitted on the training and validation images together: a linear head of a
    frozen run, or one kept when fine-tuning did not beat it. run.json says so where it names what the confidence
    and the threshold were set on: those images' out-of-fold answers."""
    from foveal.core.training.heldout import OUT_OF_FOLD

    cal = run.calibration.fitted_on if run.calibration is not None else None
    op = run.operating_point.chosen_on if run.operating_point is not None else None
    return is_linear(run) and OUT_OF_FOLD in (cal, op)


@dataclass(frozen=True)
class LearnedFrom:
    """How many images the final classifier learned from, and which."""

    n: int
    which: str  # "training images" or "training and validation images"

    def words(self) -> str:
        return f"{self.n} {self.which}"


def learned_from(run: RunRecord) -> LearnedFrom:
    n_train, n_val = len(run.split.train), len(run.split.val)
    if fitted_on_all(run):
        return LearnedFrom(n_train + n_val, "training and validation images")
    return LearnedFrom(n_train, "training images")


def classifier_words(run: RunRecord) -> str:
    """The classifier on the backbone's features, in plain words: what it is and what it reads."""
    what = ("a simple linear classifier" if is_linear(run) else "a classifier layer trained in rounds (epochs)")
    text = f"{what} on the backbone's features, {pooling_words(run.pooling)}"
    winner = run.recipe.winner
    if winner is not None and winner.extra.get("balanced") is True:
        text += ", with the rarer classes weighted up"
    if winner is not None and isinstance(winner.extra.get("size"), int):
        text += f", reading the images at {winner.extra['size']} pixels"
    return text


def balanced_ranking(run: RunRecord) -> bool:
    """The recipe ranked its candidates by balanced accuracy (imbalanced classes; runs before it: by accuracy)."""
    return run.recipe.extra.get("ranked_by") == "balanced_accuracy"


def _close_to_winner(run: RunRecord) -> int:
    """How many other candidates score within the winner's 95% interval (about as good) on what they were ranked
    by."""
    candidates = run.recipe.candidates or ()
    if not candidates:
        return 0
    if balanced_ranking(run):
        interval = candidates[0].extra.get("balanced_interval")
        low = interval[0] if isinstance(interval, list) and interval else candidates[0].balanced_accuracy
        return sum(1 for c in candidates[1:] if c.balanced_accuracy >= low)
    low = candidates[0].interval[0]
    return sum(1 for c in candidates[1:] if c.accuracy >= low)


def choice_words(run: RunRecord) -> str:
    """What was chosen and why, in one or two sentences (the manual recipe: that it was set by hand)."""
    candidates = run.recipe.candidates
    if not candidates or run.recipe.winner is None:
        return f"The classifier is {classifier_words(run)} (the standard recipe, not chosen automatically)."
    best, n = candidates[0], len(candidates)
    majority = run.recipe.extra.get("majority")
    against = (f"; always answering the commonest class would score {majority:.0%}"
               if isinstance(majority, int | float) else "")
    text = (f"Chosen automatically: {classifier_words(run)}. It scored best of {n} candidates when each was tried "
            f"on parts of the training and validation images and tested on the rest (cross-validation: "
            f"{best.accuracy:.0%} right{against}).")
    if balanced_ranking(run):
        text += (f" The candidates were ranked by balanced accuracy, each class counted equally "
                 f"({best.balanced_accuracy:.0%} for this one), not by plain accuracy: "
                 f"{run.recipe.extra.get('ranked_by_reason', 'the classes are imbalanced')}.")
    close = _close_to_winner(run)
    if close:
        text += (f" {close} of the other {n - 1} were about as good (within its 95% interval), so the choice "
                 "among them matters little.")
    else:
        text += " None of the others came within its 95% interval."
    return text


def made_words(run: RunRecord) -> str:
    """How the final model learned and which model was kept: said once, as it was done."""
    learned = learned_from(run)
    phases = run.phases
    tuned = [h for h in run.history if h.phase == "fine-tune"]
    if is_linear(run) and not tuned:
        return (f"The backbone was used as pretrained, unchanged; the linear classifier was fitted directly (no "
                f"training rounds) on all {learned.words()}.")
    if phases is not None and tuned:
        return _fine_tune_words(run, len(tuned), learned)
    if not run.history:
        return "No training round finished: no model was learned."
    return (f"The backbone was used as pretrained, unchanged; the classifier was trained on the {learned.words()} "
            f"for {_rounds(len(run.history))}{_stopped(run)}{_kept(run)}.")


def _fine_tune_words(run: RunRecord, n_tuned: int, learned: LearnedFrom) -> str:
    phases = run.phases
    assert phases is not None
    head = ("The linear classifier was first fitted on the training images" if is_linear(run) else
            f"The classifier was first trained for {_rounds(len(run.history) - n_tuned)}")
    tried = f"{head}; then fine-tuning the backbone was tried for {_rounds(n_tuned)}"
    h, t = phases.head_best, phases.fine_tune_best
    losses = (f" (lowest loss on the validation images {t.val_loss:.3f}, against {h.val_loss:.3f} before)"
              if h is not None and t is not None and h.val_loss is not None and t.val_loss is not None else "")
    if phases.improved:
        return f"{tried}. It did better on the validation images{losses}{_kept(run)}."
    stopped = ", so it was stopped early" if phases.stopped_after_trial else ""
    if fitted_on_all(run):
        return (f"{tried}. It did not do better on the validation images{losses}{stopped}: the backbone was kept "
                f"as pretrained, and the linear classifier was fitted again on all {learned.words()}.")
    return (f"{tried}. It did not do better on the validation images{losses}{stopped}: the model from before "
            f"fine-tuning{_kept(run)}.")


def _rounds(n: int) -> str:
    return f"{n} round{'s' if n != 1 else ''} (epoch{'s' if n != 1 else ''})"


def _stopped(run: RunRecord) -> str:
    return {"early-stopped": ", stopping early when the validation loss no longer improved",
            "cancelled": ", until it was stopped by hand"}.get(run.outcome, "")


def _kept(run: RunRecord) -> str:
    epoch = run.phases.kept_epoch if run.phases is not None and run.phases.kept_epoch is not None else run.best_epoch
    if epoch is None:
        return ""
    return f"; the model as it was after epoch {epoch} (lowest loss on the validation images) was kept"


def calibration_words(run: RunRecord) -> str | None:
    """How the confidence was adjusted, in plain words (None: it was not)."""
    cal = run.calibration
    if cal is None or cal.temperature is None:
        return None
    text = (f"The model's confidence was adjusted so that it matches how often it is right, on the "
            f"{images_words(cal.fitted_on)}")
    before, after = cal.val_ece_before, cal.val_ece_after
    if before is not None and after is not None:
        text += f" (calibration error {before:.3f} → {after:.3f} there"
        tb, ta = cal.test_ece_before, cal.test_ece_after
        text += f"; {tb:.3f} → {ta:.3f} on the test images)" if tb is not None and ta is not None else ")"
        if tb is not None and ta is not None and ta > tb + 1e-4:
            text += (". On the test images the adjustment made the confidence slightly less reliable, not more; on "
                     f"{run.test.n or 'few'} test images a difference this small can be chance")
    return text + "."


@dataclass(frozen=True)
class Copies:
    """Copies of an image among the run's images: byte-identical files (the scan's check) and copies of one picture
    (perceptual hashes); ``exact`` is None when they cannot be told apart. ``recorded``: run.json counts each check
    apart (runs from then on also compare the pictures' thumbnails, so neighbouring slices are no copies there)."""

    total: int
    exact: int | None
    recorded: bool = False

    def words(self) -> str:
        if self.exact is None:
            return (f"{_sets(self.total)} of copies found: byte-identical files, or images that look alike (this run "
                    "does not record how many of each, and its files were not read again to tell)")
        alike = self.total - self.exact
        exact = (f"{_sets(self.exact)} of byte-identical files (the same file saved twice, as the scan of the folder "
                 "reports them)")
        looks = (f"{_sets(alike)} of the same picture resized or saved again (found by comparing the pictures, not "
                 "the files)" if self.recorded else
                 f"{_sets(alike)} of images that look alike (found by a perceptual hash: the same picture resized or "
                 "saved again, or different pictures that look very similar, such as neighbouring slices)")
        if not alike:
            return exact
        return looks if not self.exact else f"{exact} and {looks}"


def _sets(n: int) -> str:
    return f"{n} set{'s' if n != 1 else ''}"


def copies_found(run: RunRecord) -> Copies | None:
    """The copies run.json counts, told apart by the check that found them: as run.json counts each, or (runs that
    count them together) by checking which of the run's files are byte-identical, as the scan did (the files are
    only read)."""
    info = run.split_info
    if info is None or info.n_duplicate_sets is None:
        return None
    identical, pictures = _count(info, "n_identical_file_sets"), _count(info, "n_picture_copy_sets")
    if identical is not None and pictures is not None:
        return Copies(identical + pictures, identical, recorded=True)
    exact = _byte_identical_sets(run)
    if exact is not None and exact > info.n_duplicate_sets:  # the folder changed since the run
        exact = None
    return Copies(info.n_duplicate_sets, exact)


def _count(info: Any, key: str) -> int | None:
    """A count of split_info, whether the record names its key or keeps it among the keys it does not name."""
    value = getattr(info, key, None)
    if value is None:
        value = info.extra.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


#: The most bytes the report reads again to tell byte-identical files from copies of a picture (a run that does not
#: record each count, with many files of one size, e.g. a DICOM series, says both together rather than wait).
MAX_BYTES_READ = 256 * 2**20


def _byte_identical_sets(run: RunRecord) -> int | None:
    """How many sets of byte-identical files the run's images hold (None: a file is no longer a plain file that
    can be read, or telling would mean reading more than MAX_BYTES_READ)."""
    import stat
    from collections import defaultdict

    from foveal.core.data.digests import file_digest

    by_size: dict[int, list[str]] = defaultdict(list)
    try:
        for name in ("train", "val", "test"):
            for row in run.split.of(name):
                path = os.path.join(run.dataset.root, row.file)
                st = os.stat(path)
                if not stat.S_ISREG(st.st_mode):  # a pipe or device now: never opened
                    return None
                by_size[st.st_size].append(path)
        same = [(size, paths) for size, paths in by_size.items() if len(paths) > 1]
        if sum(size * len(paths) for size, paths in same) > MAX_BYTES_READ:
            return None
        digests: dict[bytes, int] = defaultdict(int)
        for _size, paths in same:
            for path in paths:
                digests[file_digest(path)] += 1
    except OSError:
        return None
    return sum(1 for n in digests.values() if n > 1)
