"""The report a lab can sign, and copies across splits said wherever the accuracy they inflate is shown."""

from __future__ import annotations

import re

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
    split = html[html.index("<h2>Split</h2>"):html.index("<h2>Model</h2>")]
    assert "seed 3" in split
    assert f"{info.n_duplicate_sets} set(s) of duplicate or near-duplicate images found; not kept together" in split
    assert "Warning: nothing kept related images together" in split and "have a copy" in split


def test_the_report_speaks_words_and_leaves_the_model_card_to_fill(leaky_run):
    html = render_html(build_report(leaky_run.run_dir))
    assert "`" not in html  # no markup shown as text
    assert "<th></th>" not in html  # no empty header rows
    settings = html[html.index("<h2>Settings</h2>"):html.index("<h2>Software</h2>")]
    for raw in ("xla", "fine_tune_epochs", "None", "keep_duplicates_together"):
        assert f"<td>{raw}</td>" not in settings and f">{raw}<" not in settings
    assert "Compiled training step (XLA)" in settings and "as many as for the classifier" in settings
    card = html[html.index("<h2>Intended use and limitations</h2>"):html.index("<h2>Dataset</h2>")]
    assert card.count("[to be filled in]") >= 5 and "Intended use" in card and "signature" in card
    assert re.search(r"Measured on \d+ held-out images from the same folder", card)


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
    assert len(pages) >= 3 and all(any(t in page for page in pages) for t in titles)
    for k, text in enumerate(pages):
        lines = [x.strip() for x in text.splitlines() if x.strip()]
        assert lines and lines[-1] not in titles, f"page {k + 1} ends with the heading {lines[-1]!r}"
        pdf[k].render(scale=1).to_pil().save(tmp_path / f"page-{k + 1}.png")  # renders: nothing is broken
    # The legend's text is a fifteenth of the picture's width: on a 360 px thumbnail about 24 px high.
    below = with_legend(np.zeros((360, 360, 3), np.uint8))[360:]
    dark_rows = np.nonzero((below.min(axis=2) < 128).any(axis=1))[0]
    assert dark_rows.size and dark_rows.max() - dark_rows.min() >= 14
