"""The report to keep: one self-contained HTML file (images embedded) and a PDF with the same content.

The content is built once as a list of sections (text, tables, figures, galleries) and rendered twice, so the
two files can never disagree. Someone who was not there can read what was done and redo it.
"""

from __future__ import annotations

import base64
import html
import io
import os
from pathlib import Path

import numpy as np

from foveal.core.evaluation import report_sections as rs
from foveal.core.evaluation.document import Figure, Gallery, Report, Section, Table
from foveal.core.evaluation.evaluate import (
    Evaluation,
    check_own_files,
    evaluate,
    read_evaluation,
    read_small,
    write_evaluation,
)
from foveal.core.evaluation.review import read_marks
from foveal.core.io import atomic_path, make_dirs, write_text
from foveal.core.models.saved import load_classifier
from foveal.core.run_record import RunRecord

#: How many of the worst errors the report shows with their Grad-CAM.
WORST_ERRORS = 8

#: The sections every report of a run has, in order (with two classes "Reading for two classes" follows the
#: Summary; "Training" comes before Dataset when the run trained in epochs; an automatic recipe's "Appendix: recipe"
#: follows the model's; suspected and marked mislabels close the body). Pages 1–2 hold what a reader needs first.
SECTION_TITLES = ("Summary", "Confusion matrix", "What to be careful about", "Intended use and limitations",
                  "Metrics on held-out images", "ROC", "Calibration", "Worst errors", "Dataset", "Split",
                  "Appendix: model", "Appendix: settings", "Appendix: software")


def build_report(run_dir: str | os.PathLike[str], evaluation: Evaluation | None = None) -> Report:
    """Gather everything about a run (evaluating it first if it has no evaluation yet): first the result and
    what to be careful about, then the details, then the appendix in technical terms."""
    from foveal.core.runs import read_run
    from foveal.core.training.mislabels import read_suspects

    run = read_run(run_dir)
    ev = evaluation or read_evaluation(run_dir)
    if ev is not None and tuple(ev.classes) != run.classes:
        ev = None  # a saved evaluation that no longer matches run.json says nothing about this run: evaluate again
    if ev is None:
        ev = evaluate(run_dir)
        write_evaluation(ev, run_dir)
    marks = read_marks(run_dir)
    suspected = read_suspects(Path(run_dir))
    found = [rs.summary(run, ev), rs.two_class(ev), rs.confusion(ev), rs.careful(run, ev, len(marks or {})),
             rs.model_card(run, ev), rs.metrics(ev), rs.roc(ev), rs.calibration(ev, run),
             _worst_errors(run_dir, run, ev),
             rs.suspects(suspected) if suspected is not None else None, rs.marked(marks) if marks else None,
             rs.training(run), rs.dataset(run), rs.split(run),
             rs.model(run), rs.recipe(run), rs.settings(run), rs.software(run)]
    name = Path(run_dir).resolve().name
    return Report(f"Foveal report: {run.backbone.name} on {Path(run.dataset.root).name}",
                  f"Run {name}, created {run.created or ''}", [s for s in found if s is not None])


def _image_of(run: RunRecord, ev: Evaluation, file: str) -> str | None:
    """Where a prediction's image is: in the run's dataset folder (its test split) or the folder evaluated. Never
    the path a saved evaluation.json names, which a run folder made elsewhere could point at any file here (None:
    the file name itself leads out of the folder)."""
    from foveal.core.run_split import outside_reason

    root = run.dataset.root if ev.source == "test split" else ev.source
    if not isinstance(root, str) or not isinstance(file, str) or outside_reason(file, root):
        return None
    return os.path.join(root, file)


def _worst_errors(run_dir, run: RunRecord, ev: Evaluation) -> Section:
    """The most confident wrong predictions, each with Grad-CAM for the class the model chose."""
    from PIL import Image

    from foveal.core.errors import ImageDecodeError
    from foveal.core.evaluation.gradcam import GradCamExplainer, with_legend

    wrong = sorted((p for p in ev.predictions if not p.correct), key=lambda p: -p.confidence)[:WORST_ERRORS]
    section = Section("Worst errors")
    if not wrong:
        section.blocks.append("No held-out image was misclassified.")
        return section
    n_wrong = sum(not p.correct for p in ev.predictions)
    which = ("The only wrong prediction" if n_wrong == 1 else
             f"The {len(wrong)} most confident wrong predictions of {n_wrong}")
    section.blocks.append(f"{which}. The heatmap (Grad-CAM) shows where the evidence for the predicted class lies.")
    explainer = GradCamExplainer(load_classifier(run_dir))
    items = []
    for p in wrong:
        try:
            path = _image_of(run, ev, p.file)
            if path is None:
                raise ImageDecodeError(p.file, "outside the folder evaluated: not shown")
            cam = explainer.explain_file(path, ev.classes.index(p.predicted))
            img = _thumb(with_legend(cam.overlay()), 360)
        except ImageDecodeError as exc:
            img = np.full((120, 120, 3), 230, np.uint8)
            p = p.__class__(**{**p.__dict__, "file": f"{p.file} ({exc.reason})"})
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, "PNG")
        items.append((buf.getvalue(), f"{p.file}: labelled {p.true}, predicted {p.predicted} ({p.confidence:.0%})"))
    section.blocks.append(Gallery(items))
    return section


def _thumb(image: np.ndarray, side: int) -> np.ndarray:
    from PIL import Image

    im = Image.fromarray(image)
    im.thumbnail((side, side))
    return np.asarray(im)


# ---- HTML ----------------------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:60em;margin:2em auto;padding:0 1em;
color:#222}h1{margin-bottom:0}h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f3f3f3}td.form{height:2.2em;min-width:20em}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
.gallery{display:flex;flex-wrap:wrap;gap:1em}.gallery figure{width:17em;margin:0}.sub{color:#666}"""


#: Foveal's mark in the HTML report, and in the PDF report's document information.
_HTML_MARK = b'<meta name="generator" content="Foveal">'
_PDF_MARK = b"/Creator (Foveal)"


def render_html(report: Report) -> str:
    """The report as one HTML page with every image embedded as base64 PNG."""
    out = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>" + _HTML_MARK.decode()
           + f"<title>{html.escape(report.title)}"
           f"</title><style>{_CSS}</style></head><body><h1>{html.escape(report.title)}</h1>"
           f"<p class='sub'>{html.escape(report.subtitle)}</p>"]
    for s in report.sections:
        page = " style='break-before:page'" if s.new_page else ""
        out.append(f"<section{page}><h2>{html.escape(s.title)}</h2>")
        out += [_html_block(b) for b in s.blocks]
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


def _img(png: bytes) -> str:
    return f"<img src='data:image/png;base64,{base64.b64encode(png).decode('ascii')}' alt=''>"


def _html_block(block) -> str:
    if isinstance(block, str):
        return f"<p>{html.escape(block)}</p>"
    if isinstance(block, Table):
        head = ("" if block.header is None else
                "<thead><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in block.header) + "</tr></thead>")
        cell = "<td class='form'>" if block.form else "<td>"
        rows = "".join("<tr>" + "".join(f"{cell if k else '<td>'}{html.escape(c)}</td>" for k, c in enumerate(r))
                       + "</tr>" for r in block.rows)
        return f"<table>{head}<tbody>{rows}</tbody></table>"
    if isinstance(block, Figure):
        return f"<figure>{_img(block.png)}<figcaption>{html.escape(block.caption)}</figcaption></figure>"
    if isinstance(block, Gallery):
        items = "".join(f"<figure>{_img(png)}<figcaption>{html.escape(c)}</figcaption></figure>"
                        for png, c in block.items)
        return f"<div class='gallery'>{items}</div>"
    raise TypeError(type(block))


# ---- PDF -----------------------------------------------------------------------------------------------------

def render_pdf(report: Report, path: str | os.PathLike[str]) -> None:
    """The same report as an A4 PDF (reportlab)."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, SimpleDocTemplate, Spacer

    styles = getSampleStyleSheet()
    doc = SimpleDocTemplate(str(path), pagesize=A4, leftMargin=1.8 * cm, rightMargin=1.8 * cm,
                            topMargin=1.6 * cm, bottomMargin=1.6 * cm, title=report.title, author="Foveal",
                            creator="Foveal")
    story = [Paragraph(html.escape(report.title), styles["Title"]), Paragraph(html.escape(report.subtitle),
                                                                              styles["Italic"])]
    for s in report.sections:
        # A heading never stands alone at the bottom of a page: it travels with the section's first block (kept
        # together with it here, as reportlab cannot nest one KeepTogether in another).
        blocks = [_pdf_block(b, styles, doc.width, keep=k > 0) for k, b in enumerate(s.blocks)]
        heading = Paragraph(html.escape(s.title), styles["Heading2"])
        story += [PageBreak()] if s.new_page else [Spacer(1, 0.3 * cm)]
        story += [KeepTogether([heading, *(blocks[0] if blocks else [])])]
        for flowables in blocks[1:]:
            story += flowables
    doc.build(story)


def _pdf_image(png: bytes, width: float, height: float):
    """The image fitted into a ``width × height`` box at its own aspect ratio, however tall or wide it is (an
    image only scaled to the width can be taller than a page, which reportlab cannot lay out)."""
    from PIL import Image as PILImage
    from reportlab.platypus import Image

    with PILImage.open(io.BytesIO(png)) as im:
        w, h = im.size
    scale = min(width / max(w, 1), height / max(h, 1))
    return Image(io.BytesIO(png), width=max(w * scale, 1.0), height=max(h * scale, 1.0))


def _pdf_block(block, styles, page_width: float, keep: bool = True) -> list:
    """The flowables of one block; a figure and its caption are kept together unless ``keep`` is false (the
    caller keeps them together with more)."""
    from reportlab.lib import colors
    from reportlab.lib.units import cm
    from reportlab.platypus import KeepTogether, Paragraph, Spacer
    from reportlab.platypus import Table as PdfTable

    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    if isinstance(block, str):
        return [Paragraph(html.escape(block), styles["BodyText"])]
    if isinstance(block, Table):
        data = [] if block.header is None else [[Paragraph(f"<b>{html.escape(h)}</b>", small) for h in block.header]]
        data += [[Paragraph(html.escape(c), small) for c in r] for r in block.rows]
        n_cols = max((len(r) for r in data), default=1)
        fractions = block.widths or ([0.35, 0.65] if block.header is None and n_cols == 2 else [1 / n_cols] * n_cols)
        heights = [None] * (len(data) - len(block.rows)) + [1.1 * cm] * len(block.rows) if block.form else None
        t = PdfTable(data, colWidths=[page_width * f for f in fractions], rowHeights=heights,
                     repeatRows=0 if block.header is None else 1, hAlign="LEFT")
        style = [("GRID", (0, 0), (-1, -1), 0.4, colors.lightgrey), ("VALIGN", (0, 0), (-1, -1), "TOP")]
        # The header row shaded; a name/value table has its names shaded instead.
        style.append(("BACKGROUND", (0, 0), (0, -1) if block.header is None else (-1, 0), colors.whitesmoke))
        t.setStyle(style)
        return [Spacer(1, 0.15 * cm), t, Spacer(1, 0.25 * cm)]  # tables never run into what is around them
    if isinstance(block, Figure):
        shown = [_pdf_image(block.png, page_width * block.width, page_width), Paragraph(html.escape(block.caption),
                                                                                         small)]
        return [KeepTogether(shown)] if keep else shown
    if isinstance(block, Gallery):
        cell = page_width / 3 - 6
        cells = [[_pdf_image(png, cell - 4, cell - 4), Paragraph(html.escape(c), small)] for png, c in block.items]
        rows = [cells[i:i + 3] + [""] * (3 - len(cells[i:i + 3])) for i in range(0, len(cells), 3)]
        t = PdfTable(rows, colWidths=[cell] * 3, hAlign="LEFT")
        t.setStyle([("VALIGN", (0, 0), (-1, -1), "TOP")])
        return [t]
    raise TypeError(type(block))


def _is_foveal_html(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return _HTML_MARK in fh.read(4096)
    except OSError:
        return False


def _is_foveal_pdf(path: Path) -> bool:
    """True when the PDF carries Foveal's creator mark, or Foveal's report.html is beside it."""
    if _is_foveal_html(path.parent / "report.html"):
        return True
    data = read_small(path)  # reportlab writes the document information among the first objects, not last
    return data is not None and data.startswith(b"%PDF") and _PDF_MARK in data


def check_report_folder(out_dir: str | os.PathLike[str]) -> Path:
    """Refuse, before any work, a folder write_report may not write into: the root, or one holding a report.html
    or report.pdf that Foveal did not write (see :func:`core.evaluation.evaluate.check_own_files`)."""
    return check_own_files(out_dir, {"report.html": _is_foveal_html, "report.pdf": _is_foveal_pdf})


def write_report(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None,
                 evaluation: Evaluation | None = None) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.pdf`` (into the run folder unless ``out_dir``); return both paths."""
    check_report_folder(out_dir or run_dir)
    report = build_report(run_dir, evaluation)
    out = make_dirs(check_report_folder(out_dir or run_dir))
    html_path, pdf_path = out / "report.html", out / "report.pdf"
    write_text(html_path, render_html(report))
    with atomic_path(pdf_path) as tmp_pdf:
        render_pdf(report, tmp_pdf)
    return html_path, pdf_path
