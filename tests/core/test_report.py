"""The report a lab can sign, and copies across splits said wherever the accuracy they inflate is shown."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PIL import Image

from foveal.core.cli import main
from foveal.core.evaluation.evaluate import evaluate
from foveal.core.evaluation.report import build_report, render_html
from foveal.core.runs import read_run
from foveal.core.training import TrainConfig, train
from tests import factory
from tests.factory import real_weights


@pytest.fixture(scope="module")
def leaky_run(tmp_path_factory):
    """A real run whose split was told not to keep copies together: JPEG copies of images sit in other splits."""
    base = tmp_path_factory.mktemp("report")
    data = factory.make_class_folder(base / "data", {"red": 12, "green": 12, "blue": 12}, size=40, seed=2)
    for name in ("red", "green", "blue"):
        for i in range(4):
            with Image.open(data / name / f"{name}_{i:03d}.png") as im:
                im.convert("RGB").save(data / name / f"again_{i}.jpg", quality=85)
    return train(TrainConfig(str(data), epochs=1, weights=real_weights(), image_size=48, seed=3,
                             keep_duplicates_together=False, out_dir=str(base / "run")))


def test_copies_across_splits_are_said_beside_the_accuracy(leaky_run, capsys):
    run = read_run(leaky_run.run_dir)
    info = run.split_info
    assert info is not None and info.n_duplicate_sets >= 10 and not info.keep_duplicates_together  # of 12 copies
    leaked = [d for d in info.duplicates_across_splits if "test" in d.values()]
    assert leaked, info.duplicates_across_splits  # the seed puts some copies on both sides
    # the result of training (the Train view and the terminal show its headline)
    assert "have a copy" in leaky_run.headline and "may be higher than on new images" in leaky_run.headline
    assert run.test.copies_warning in leaky_run.headline
    # the evaluation
    ev = evaluate(leaky_run.run_dir)
    assert any("have a copy" in c for c in ev.metrics["cautions"])
    assert main(["evaluate", leaky_run.run_dir]) == 0
    assert "have a copy" in capsys.readouterr().out
    # and the report, with exactly how the split was made
    html = render_html(build_report(leaky_run.run_dir, ev))
    split = _section(html, "Split")
    assert "seed 3" in split
    # JPEG copies of PNG files are no byte-identical files: the comparison of the pictures found them
    assert re.search(rf"<td>{info.n_duplicate_sets} sets of (images that look alike|the same picture resized)", split)
    assert "byte-identical" not in split and "; not kept together" in split
    careful = _section(html, "What to be careful about")
    assert "Nothing kept related images together" in careful and "have a copy" in careful


def test_the_report_speaks_words_and_leaves_the_model_card_to_fill(leaky_run):
    html = render_html(build_report(leaky_run.run_dir))
    assert "`" not in html  # no markup shown as text
    assert "<th></th>" not in html  # no empty header rows
    settings = _section(html, "Appendix: settings")
    for raw in ("xla", "fine_tune_epochs", "None", "keep_duplicates_together"):
        assert f"<td>{raw}</td>" not in settings and f">{raw}<" not in settings
    assert "Copies of an image kept in one split" in settings and "Random seed" in settings
    card = _section(html, "Intended use and limitations")
    assert card.count("[to be filled in]") >= 5 and "Intended use" in card and "signature" in card
    assert re.search(r"measured on \d+ held-out images from the same folder", card)


def test_pdf_headings_never_end_a_page_and_legends_are_readable(leaky_run, tmp_path):
    import numpy as np
    import pypdfium2 as pdfium

    from foveal.core.evaluation.gradcam import with_legend
    from foveal.core.evaluation.report import render_pdf

    report = build_report(leaky_run.run_dir)
    render_pdf(report, tmp_path / "r.pdf")
    pdf = pdfium.PdfDocument(str(tmp_path / "r.pdf"))
    pages = [page.get_textpage().get_text_range() for page in pdf]
    titles = [s.title for s in report.sections]
    assert len(pages) >= 3 and all(any(t in " ".join(page.split()) for page in pages) for t in titles)
    for k, text in enumerate(pages):
        lines = [x.strip() for x in text.splitlines() if x.strip()]
        assert lines and lines[-1] not in titles, f"page {k + 1} ends with the heading {lines[-1]!r}"
        pdf[k].render(scale=1).to_pil().save(tmp_path / f"page-{k + 1}.png")  # renders: nothing is broken
    # The legend's text is a fifteenth of the picture's width: on a 360 px thumbnail about 24 px high.
    below = with_legend(np.zeros((360, 360, 3), np.uint8))[360:]
    dark_rows = np.nonzero((below.min(axis=2) < 128).any(axis=1))[0]
    assert dark_rows.size and dark_rows.max() - dark_rows.min() >= 14


def _section(html: str, title: str) -> str:
    """The HTML of one section of the report, from its heading to the next."""
    start = html.index(f"<h2>{title}</h2>")
    end = html.find("<h2>", start + 1)
    return html[start:end if end > 0 else len(html)]


@pytest.fixture(scope="module")
def chest_run(tmp_path_factory):
    """A real two-class run as a lab makes one: real chest X-rays ('normal' and 'pneumonia', 30 each, one file
    saved twice), the automatic recipe on a frozen backbone, which picks a linear classifier fitted directly."""
    import shutil

    source = factory.SHARED / "data" / "pneumoniamnist"
    if not source.is_dir():
        pytest.skip(f"real images not found at {source} (shared/data/README.md)")
    base = tmp_path_factory.mktemp("chest")
    for name in ("normal", "pneumonia"):
        (base / "data" / name).mkdir(parents=True)
        for path in sorted((source / name).glob("*.png"))[:30]:
            shutil.copy(path, base / "data" / name / path.name)
    first = sorted((base / "data" / "pneumonia").glob("*.png"))[0]
    shutil.copy(first, base / "data" / "pneumonia" / "again.png")  # a byte-identical copy
    result = train(TrainConfig(str(base / "data"), epochs=2, weights=real_weights(), image_size=64,
                               out_dir=str(base / "run")))
    run = read_run(result.run_dir)
    assert run.recipe.winner is not None and run.recipe.winner.head == "linear" and not run.history
    return result.run_dir, evaluate(result.run_dir)


def _edited(chest_run, tmp_path, edit) -> str:
    """A copy of the chest run folder whose run.json ``edit(record)`` changed: a shape the real run does not have."""
    import json
    import shutil

    folder = tmp_path / "edited"
    shutil.copytree(chest_run[0], folder)
    record = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    edit(record)
    (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")
    return str(folder)


def test_the_first_two_pages_hold_the_result_the_reading_the_confusion_and_the_cautions(chest_run, tmp_path):
    import pypdfium2 as pdfium

    from foveal.core.evaluation.report import render_pdf

    report = build_report(*chest_run)
    render_pdf(report, tmp_path / "r.pdf")
    pdf = pdfium.PdfDocument(str(tmp_path / "r.pdf"))
    first = " ".join(" ".join(pdf[k].get_textpage().get_text_range().split()) for k in (0, 1))
    for k in (0, 1):
        pdf[k].render(scale=1).to_pil().save(tmp_path / f"page-{k + 1}.png")
    assert re.search(r"held-out test images right \(95% interval \d+%–\d+%\)\. Always answering '\w+' would score",
                     first)
    assert "'pneumonia' is the positive class, the finding: 'normal' reads as the absence of a finding" in first
    assert re.search(r"sensitivity: findings found [\d.]+% \d+ of \d+ 'pneumonia' images", first)
    assert "Confusion matrix" in first and "Rows: the true class" in first  # the figure travels with its caption
    careful = first[first.index("What to be careful about"):]
    assert "do not look like the images the model learned from" in careful and "look mislabelled" in careful
    assert "1 set of byte-identical files" in careful and "It is not a medical device" in careful
    # the technical terms and the recipe's table wait for the appendix
    for term in ("Appendix", "C=0", "pooling", "out of fold", "temperature", "Youden", "candidate(s)", "epoch 1"):
        assert term not in first, term


def test_the_report_says_once_what_was_done(chest_run):
    run = read_run(chest_run[0])
    n_train, n_both = len(run.split.train), len(run.split.train) + len(run.split.val)
    html = render_html(build_report(*chest_run))
    body = html[:html.index("<h2>Appendix: model</h2>")]
    summary = _section(html, "Summary")
    assert (f"the linear classifier was fitted directly (no training rounds) on all {n_both} training and "
            "validation images") in summary
    others = len(run.recipe.candidates or ()) - 1
    assert re.search(rf"\d+ of the other {others} were about as good \(within its 95% interval\)", summary)
    assert f"learned from {n_both} training and validation images" in _section(html, "What to be careful about")
    assert f"Trained on {n_train}" not in html and "no epochs" not in html.lower() and "<h2>Training</h2>" not in html
    # the settings say which did not apply, once, instead of listing epochs beside "fitted directly"
    settings = _section(html, "Appendix: settings")
    assert "<td>Training rounds (epochs) for the classifier</td>" not in settings
    assert "not used by the final model, because its linear classifier was fitted directly" in settings
    for gpu_only in ("Compiled training step (XLA)", "Mixed precision", "Several devices", "<td>Devices</td>"):
        assert gpu_only not in settings  # a CPU run
    # calibration blames nothing it did not do: it was fitted out of fold on the training and validation images
    assert run.calibration is not None and "too few validation images" not in (run.calibration.words or "")
    assert "too few validation images" not in html
    calibration = _section(html, "Calibration")
    assert "each judged by a classifier fitted without that image" in calibration
    for term in ("out of fold", "temperature", "candidate(s) score within", "C=0"):
        assert term not in body, term
    appendix = html[html.index("<h2>Appendix: model</h2>"):]
    assert "out of fold" in appendix and "T = " in appendix and "Youden" in appendix and "C=0" in appendix


def test_a_head_kept_after_fine_tuning_is_said_fitted_again_not_an_epoch_kept(chest_run, tmp_path):
    """Fine-tuning tried and not kept: the linear classifier is fitted again on the training and validation
    images, which the report says once, instead of an epoch whose weights were kept."""
    def tried_fine_tuning(record):
        record["config"]["fine_tune"], record["fine_tune"] = "auto", "last:2"
        record["history"] = [{"epoch": 1, "phase": "head", "loss": 0.1, "accuracy": 1.0, "val_loss": 0.42,
                              "val_accuracy": 0.8, "seconds": 0.0},
                             *({"epoch": k, "phase": "fine-tune", "loss": 0.1, "accuracy": 1.0, "val_loss": 0.9,
                                "val_accuracy": 0.7, "seconds": 1.0} for k in (2, 3))]
        record["best_epoch"] = 1
        record["phases"] = {"improved": False, "kept_epoch": 1, "stopped_after_trial": True,
                            "words": "Fine-tuning was tried … the head-only model of epoch 1 is kept",
                            "head_best": {"epoch": 1, "val_loss": 0.42, "val_accuracy": 0.8},
                            "fine_tune_best": {"epoch": 2, "val_loss": 0.9, "val_accuracy": 0.7}}

    run = read_run(chest_run[0])
    n_both = len(run.split.train) + len(run.split.val)
    html = render_html(build_report(_edited(chest_run, tmp_path, tried_fine_tuning), chest_run[1]))
    summary = _section(html, "Summary")
    assert "fine-tuning the backbone was tried for 2 rounds (epochs)" in summary
    assert (f"the backbone was kept as pretrained, and the linear classifier was fitted again on all {n_both} "
            "training and validation images") in summary
    assert "epoch 1" not in summary and "weights of epoch" not in html and "head-only model" not in html
    assert "Which model was kept is said in the Summary" in _section(html, "Training")
    settings = _section(html, "Appendix: settings")
    assert "Learning rate when fine-tuning" in settings and "Training rounds (epochs) when fine-tuning" in settings


def test_copies_are_said_by_the_check_that_found_them(chest_run, tmp_path, monkeypatch):
    """The report tells byte-identical files (the scan's check) from copies of a picture (perceptual hash), never
    "124 sets of duplicate or near-duplicate images" where the scan said 1: as run.json counts each, or, for a run
    that counts them together, by reading which of its files are byte-identical."""
    import json

    from foveal.core.evaluation import report_method
    from foveal.core.evaluation.report_method import copies_found
    from foveal.core.run_record import RunRecord

    assert copies_found(read_run(chest_run[0])).words().startswith("1 set of byte-identical files (")

    def counted_together(record, total=124):  # as runs before counting each check apart
        for key in ("n_identical_file_sets", "n_picture_copy_sets"):
            record["split_info"].pop(key, None)
        record["split_info"]["n_duplicate_sets"] = total

    html = render_html(build_report(_edited(chest_run, tmp_path, counted_together), chest_run[1]))
    careful = _section(html, "What to be careful about")
    assert "1 set of byte-identical files" in careful and "123 sets of images that look alike" in careful
    assert "124 set" not in html and "duplicate or near-duplicate" not in html

    record = json.loads((Path(chest_run[0]) / "run.json").read_text(encoding="utf-8"))
    record["split_info"].update(n_duplicate_sets=4, n_identical_file_sets=1, n_picture_copy_sets=3)
    assert copies_found(RunRecord.from_dict(record)).words() == (
        "1 set of byte-identical files (the same file saved twice, as the scan of the folder reports them) and 3 "
        "sets of the same picture resized or saved again (found by comparing the pictures, not the files)")
    counted_together(record, 1)
    monkeypatch.setattr(report_method, "MAX_BYTES_READ", 0)  # too much to read again (a DICOM series): said as it is
    words = copies_found(RunRecord.from_dict(record)).words()
    assert words.startswith("1 set of copies found") and "does not record how many of each" in words
    monkeypatch.undo()
    record["dataset"]["root"] = str(tmp_path / "gone")  # nothing to read again
    assert copies_found(RunRecord.from_dict(record)).words() == words


def test_a_gpu_run_keeps_its_gpu_settings_and_a_trained_head_its_epochs(chest_run):
    import json

    from foveal.core.evaluation import report_sections as rs
    from foveal.core.run_record import RunRecord

    record = json.loads((Path(chest_run[0]) / "run.json").read_text(encoding="utf-8"))
    record["devices"].update(devices=["/gpu:0"], gpus=["/physical_device:GPU:0"], description="1 GPU")
    record["recipe"] = {"mode": "manual"}
    record["history"] = [{"epoch": k, "phase": "head", "loss": 0.5, "accuracy": 0.8, "val_loss": 0.6,
                          "val_accuracy": 0.7, "seconds": 1.0} for k in (1, 2)]
    record["best_epoch"] = 2
    del record["calibration"]["fitted_on"], record["operating_point"]["chosen_on"]
    run = RunRecord.from_dict(record)
    rows = {r[0] for block in rs.settings(run).blocks if hasattr(block, "rows") for r in block.rows}
    assert {"Compiled training step (XLA)", "Training rounds (epochs) for the classifier", "Dropout before the "
            "classifier"} <= rows
    said = " ".join(b for b in rs.summary(run, chest_run[1]).blocks if isinstance(b, str))
    assert (f"trained on the {len(run.split.train)} training images for 2 rounds (epochs); the model as it was "
            "after epoch 2 (lowest loss on the validation images) was kept") in said
    assert "the standard recipe, not chosen automatically" in said


def test_the_report_gives_each_classs_recall_and_says_when_candidates_were_ranked_by_balanced_accuracy(chest_run,
                                                                                                      tmp_path):
    html = render_html(build_report(*chest_run))
    assert re.search(r"Recognised per class on the test images: normal \d+ of \d+ \(\d+%\), pneumonia \d+ of \d+",
                     _section(html, "Summary"))
    assert "ranked by balanced accuracy" not in html  # 30 and 31 images: about equally common
    assert "They are ranked by accuracy because the classes are about equally common" in html

    def imbalanced(record):
        record["recipe"]["ranked_by"] = "balanced_accuracy"
        record["recipe"]["ranked_by_reason"] = "the classes are imbalanced (the largest has 3.0× the images)"

    folder = _edited(chest_run, tmp_path, imbalanced)
    html = render_html(build_report(folder, evaluate(folder)))
    assert "The candidates were ranked by balanced accuracy, each class counted equally" in _section(html, "Summary")
    assert ("They are ranked by balanced accuracy because the classes are imbalanced (the largest has 3.0× the "
            "images)") in _section(html, "Appendix: recipe")
