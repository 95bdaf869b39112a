"""``export_model(run, format)``: write an export, check it with its own runtime, and say how well it agrees.

Next to the model go ``labels.txt`` (class names in output order), a runnable ``predict_example.py`` and
``export_check.json``: the largest probability difference from Foveal's own prediction and the top-1 agreement
on sample test images. An export that disagrees is kept aside as ``<folder>.failed`` and reported as failed.
Exporting again into the same folder replaces only the files Foveal wrote there (:mod:`core.export.place`).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from foveal.core.errors import ConfigError, DatasetError
from foveal.core.export.examples import example_source, read_labels
from foveal.core.export.place import CHECK_FILE, check_output_folder, files_of, place, work_folder
from foveal.core.export.writers import FORMATS, MODEL_NAMES, TFLITE_TYPES, WRITERS, runner, size_of
from foveal.core.io import os_errors, write_json, write_text
from foveal.core.models.predict import ImageFile, predict_files
from foveal.core.models.saved import Classifier, load_classifier
from foveal.core.paths import is_inside, name_problem

#: Largest probability difference from Foveal's prediction an export may show and still pass.
TOLERANCE = {"float32": 1e-3, "float16": 0.05, "int8": None}
#: int8 is approximate: it passes when at least this share of sample images keep their top-1 class.
INT8_MIN_AGREEMENT = 0.8
#: The most images an export is checked on: each runs through the exported model on its own, so a test split of
#: thousands would take minutes. Up to this many, every test image is checked.
MAX_CHECK = 300


@dataclass(frozen=True)
class CheckImages:
    """The images an export is checked on, and which they are: ``what`` the source calls them ("test images"),
    how many it ``listed``, and why the check uses fewer (``why``; empty when it uses them all)."""

    files: list[ImageFile]
    what: str
    listed: int
    why: str = ""


@dataclass
class ExportResult:
    """What was written and how well it agrees with Foveal."""

    format: str
    precision: str
    folder: str
    model: str
    passed: bool
    max_abs_diff: float
    top1_agreement: float
    n_images: int
    approximate: bool
    size_bytes: int
    seconds: float
    #: What the images checked are ("test images", "validation images", "images given"), how many of them there
    #: are, and why fewer were checked (empty: all of them were).
    checked_on: str = "test images"
    n_listed: int | None = None
    why_fewer: str = ""

    def checked(self) -> str:
        """Exactly which images were checked: "all 36 test images", or "16 of the 3,000 test images (why)"."""
        n, listed = self.n_images, self.n_listed
        if listed is None or listed <= n:
            return f"all {n} {self.checked_on}" if n > 1 else f"the only one of the {self.checked_on}"
        why = f" ({self.why_fewer})" if self.why_fewer else ""
        return f"{n} of the {listed:,} {self.checked_on}{why}"

    def words(self) -> str:
        """The check in plain words, for the window."""
        where = f"{self.size_bytes / 1e6:.1f} MB, saved in {self.folder}"
        if not self.passed:
            return (f"The exported model does not give Foveal's answers (the same answer on {self.top1_agreement:.0%}"
                    f" of {self.checked()}). Do not use it; it was kept aside in {self.folder}.")
        if self.approximate:
            return (f"Checked: the exported model gives the same answer as Foveal on {self.top1_agreement:.0%} of "
                    f"{self.checked()} (this smaller format is approximate). {where}.")
        return (f"Checked: the exported model gives the same answers as Foveal on {self.checked()}, with the same "
                f"confidence (to within {max(self.max_abs_diff, 1e-6) * 100:.4f} percentage points). {where}.")

    def summary(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        kind = f"{self.format} ({self.precision}{', approximate' if self.approximate else ''})"
        return (f"{kind} export {verdict} its check: on {self.checked()} the largest probability "
                f"difference from Foveal's own prediction is {self.max_abs_diff:.2e} and the top class agrees on "
                f"{self.top1_agreement:.0%}. {self.size_bytes / 1e6:.1f} MB at {self.model}")


def export_model(model: str | os.PathLike[str] | Classifier, fmt: str, out: str | os.PathLike[str] | None = None,
                 *, tflite_type: str = "float32", check_images: list[str] | None = None, n_check: int = MAX_CHECK,
                 on_step: Callable[[str], None] | None = None) -> ExportResult:
    """Export a run's classifier as ``fmt`` into the folder ``out`` and check it.

    Raises
    ------
    FovealError
        For an unknown format; an output inside the dataset folder, or one that is not a new folder, an empty one
        or an earlier Foveal export; a class name labels.txt cannot hold; or no images to check the export on.
    """
    t0 = time.monotonic()
    say = on_step or (lambda text: None)
    if fmt not in FORMATS:
        raise ConfigError(f"Unknown export format {fmt!r}. Choose one of: {', '.join(FORMATS)}.")
    if tflite_type not in TFLITE_TYPES:
        raise ConfigError(f"TFLite type must be one of {', '.join(TFLITE_TYPES)}. Received: {tflite_type!r}")
    precision = tflite_type if fmt == "tflite" else "float32"
    clf = model if isinstance(model, Classifier) else load_classifier(model)
    check_class_names(clf.classes)
    folder = _output_folder(clf, fmt, precision, out)
    check = _check_files(clf, check_images, n_check)
    samples = check.files
    work = work_folder(folder)
    try:
        model_path, labels = _write_files(clf, fmt, work, tflite_type, say)
        say(f"Checking the export with its own runtime on {len(samples)} {check.what}")
        tol = TOLERANCE[precision]
        diff, agreement, real_flips = _compare(clf, fmt, model_path, samples, tol or 0.0, labels)
        passed = bool(agreement >= INT8_MIN_AGREEMENT if tol is None else diff <= tol and real_flips == 0)
        final = folder if passed else _failed(folder)
        result = ExportResult(fmt, precision, str(final), str(final / MODEL_NAMES[fmt]), passed, diff, agreement,
                              len(samples), tol is None, size_of(model_path), time.monotonic() - t0, check.what,
                              check.listed, check.why)
        files = files_of(work)
        write_json(work / CHECK_FILE, {**asdict(result), "tolerance": tol, "images": [_text(f.rel) for f in samples],
                                       "files": files})
        place(work, final, files)
    finally:
        if work.is_dir():  # half an export is no export; the work folder is Foveal's own (see work_folder)
            shutil.rmtree(work, ignore_errors=True)
    return result


def _write_files(clf: Classifier, fmt: str, work: Path, tflite_type: str, say) -> tuple[Path, list[str]]:
    """The model, labels.txt and predict_example.py, written into ``work``; returns the model's path and the
    class names as labels.txt gives them back."""
    say(f"Writing the {fmt} model")
    model_path = work / MODEL_NAMES[fmt]
    with os_errors(work):
        WRITERS[fmt](clf, model_path, tflite_type=tflite_type, representative=lambda: _representative(clf))
    write_text(work / "labels.txt", "\n".join(clf.classes) + "\n")
    write_text(work / "predict_example.py", example_source(fmt))
    labels = read_labels(work)
    _check_labels(labels, clf.classes)
    return model_path, labels


def _check_labels(labels: list[str], classes: tuple[str, ...]) -> None:
    """Refuse an export whose labels.txt, read back one name per line, does not name Foveal's classes."""
    if labels == list(classes):
        return
    k = next((k for k, c in enumerate(classes) if k >= len(labels) or labels[k] != c), len(classes) - 1)
    got = labels[k] if k < len(labels) else "nothing"
    raise DatasetError(f"labels.txt does not give back the class {classes[k]!r}: line {k + 1} reads {got!r}. "
                       "Rename the class folder in the dataset to a plain name and train again; Foveal never "
                       "renames it.")


def check_class_names(classes: tuple[str, ...] | list[str]) -> None:
    """Refuse class names that labels.txt (one name per line, UTF-8) cannot give back as they are.

    A line break in a name would shift every later line, so ``predict_example.py`` would name the wrong class.
    """
    for name in classes:
        reason = _unwritable(name)
        if reason:
            raise DatasetError(f"The class {name!r} cannot be exported: its name {reason}, and labels.txt holds one "
                               "class name per line of UTF-8 text. Rename the class folder in the dataset to a "
                               "plain name and train again; Foveal never renames it.")


def _unwritable(name: str) -> str | None:
    """Why ``name`` cannot be one line of labels.txt, or None when it can (:func:`core.paths.name_problem`)."""
    return "is empty" if not name else name_problem(name)


def _output_folder(clf: Classifier, fmt: str, precision: str, out) -> Path:
    """The export folder (absolute), after refusing one Foveal must not write to (checked before any work)."""
    name = f"{fmt}-{precision}" if fmt == "tflite" else fmt
    if out is None:
        if clf.run_dir is None:
            raise ConfigError("Give an output folder (--out) when exporting a model file outside a run folder.")
        folder = Path(os.path.abspath(Path(clf.run_dir) / "export" / name))
    else:
        folder = Path(os.path.abspath(Path(out).expanduser()))
    root = clf.run.dataset.root if clf.run is not None else None
    if root and is_inside(folder, root):
        raise ConfigError(f"The export folder {folder} is inside the dataset folder {root}; Foveal never "
                          "writes there. Choose another folder.")
    check_output_folder(folder)
    check_output_folder(_failed(folder), "The folder where an export that fails its check is kept aside,")
    return folder


def _text(name: str) -> str:
    """A file name as valid UTF-8 text for export_check.json (bytes of another encoding written as escapes)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _failed(folder: Path) -> Path:
    """Where an export that disagrees with Foveal is kept aside."""
    return folder.with_name(folder.name + ".failed")


def _check_files(clf: Classifier, check_images: list[str] | None, n: int) -> CheckImages:
    """The images to check on: every test image of the run (its validation images when it has none), or every
    image given, up to ``n`` spread evenly over them."""
    if check_images:
        from foveal.core.models.predict import files_under

        given = files_under(check_images)
        return _spread(given, "images given", len(given), n)
    run = clf.run
    rows = (run.split.test or run.split.val) if run is not None else ()
    what = "test images" if run is not None and run.split.test else "validation images (the run has no test images)"
    root = run.dataset.root if run is not None else ""
    files = [ImageFile(os.path.join(root, r.file), r.file) for r in rows if os.path.isfile(os.path.join(root, r.file))]
    if not files:
        raise DatasetError(f"No images to check the export on: the run's test images are not in {root or '?'} "
                           "(the dataset moved, or sits on a disk that is not connected). Connect it, or give some "
                           "with --check-images PATH (files or a folder).")
    if len(files) < len(rows):
        found = _spread(files, what, len(files), n)
        gone = f"the other {len(rows) - len(files)} are no longer in {root}"
        return CheckImages(found.files, what, len(rows), f"{found.why}; {gone}" if found.why else gone)
    return _spread(files, what, len(rows), n)


def _spread(files: list[ImageFile], what: str, listed: int, n: int) -> CheckImages:
    """At most ``n`` of ``files``, spread evenly over them, and why fewer when there are more."""
    if len(files) <= n:
        return CheckImages(files, what, listed)
    step = len(files) / n
    picked = [files[int(k * step)] for k in range(n)]
    return CheckImages(picked, what, listed, f"spread evenly over them: each runs through the exported model on its "
                       f"own, so the check stops at {n}")


def _representative(clf: Classifier, n: int = 64):
    """Training images for int8 calibration, raw uint8 at their own sizes: the resize inside the graph is
    quantized too, so it must see the range of sizes it will get."""
    from foveal.core.data.decode import decode_image
    from foveal.core.errors import ImageDecodeError

    if clf.run is None:
        return
    root, rows = clf.run.dataset.root, clf.run.split.train
    step = max(1, len(rows) // n)
    for row in rows[::step][:n]:
        try:
            yield decode_image(os.path.join(root, row.file))[None]
        except ImageDecodeError:
            continue


def _compare(clf: Classifier, fmt: str, model_path: Path, files: list[ImageFile], tol: float,
             labels: list[str]) -> tuple[float, float, int]:
    """(largest probability difference, top-1 agreement, disagreements that are not ties) between the export
    and Foveal on ``files``. The answers compared are class names: Foveal's own, and the export's as its
    ``labels`` name them. A tie: Foveal's own probabilities of the two classes are within ``2 × tol``."""
    from foveal.core.data.decode import decode_image

    ours = predict_files(clf, files)
    run = runner(fmt, model_path)
    diffs, agree, flips = [], [], 0
    for n, (row, i) in enumerate(zip(ours.probs, ours.indices, strict=True)):
        for image in _as_checked(clf, decode_image(files[i].path), n):
            theirs = np.asarray(run(image), dtype=np.float64)
            diffs.append(float(np.abs(theirs - row).max()))
            a, b = int(row.argmax()), int(theirs.argmax())
            same = clf.classes[a] == (labels[b] if b < len(labels) else None)
            agree.append(same)
            flips += int(not same and (a == b or row[a] - row[b] > 2 * tol))
    if not diffs:
        raise DatasetError("None of the check images could be read; give others with --check-images.")
    return max(diffs), float(np.mean(agree)), flips


def _as_checked(clf: Classifier, image: np.ndarray, n: int) -> list[np.ndarray]:
    """The image as the export is given it; for a model that averages over orientations, also one of its other 7
    versions (a different one for each image, in turn): its answer must be Foveal's answer for the image as it lies,
    which shows that the export averages as Foveal does, not only that it agrees on images as they lie."""
    from foveal.core.models.orientation import turn

    if clf.orientations != 8:
        return [image]
    return [image, np.ascontiguousarray(turn(image, 1 + n % 7))]
