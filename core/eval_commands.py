"""Sub-commands that use a trained model: evaluate and report."""

from __future__ import annotations

import argparse
import json
import math
import sys


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def format_evaluation(ev) -> str:
    """The evaluation as a terminal table: headline numbers, per-class metrics, the confusion matrix."""
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    lines = [f"Evaluated on {m['n']} images ({ev.source}).",
             f"Accuracy {_fmt(m['accuracy'], True)} (95% CI {_fmt(lo, True)}–{_fmt(hi, True)}), balanced accuracy "
             f"{_fmt(m['balanced_accuracy'], True)}, macro AUC {_fmt(m['roc']['macro_auc'])}, calibration error "
             f"{_fmt(m['calibration']['ece'])}", ""]
    auc = {c["class"]: c["auc"] for c in m["roc"]["per_class"]}
    w = max(12, *(len(c) for c in ev.classes)) + 2
    lines.append(f"{'class':<{w}}{'precision':>10}{'recall':>8}{'F1':>8}{'AUC':>8}{'support':>9}")
    for r in m["per_class"]:
        lines.append(f"{r['class']:<{w}}{_fmt(r['precision']):>10}{_fmt(r['recall']):>8}{_fmt(r['f1']):>8}"
                     f"{_fmt(auc.get(r['class'])):>8}{r['support']:>9}")
    for avg in ("macro", "weighted"):
        a = m[avg]
        lines.append(f"{avg + ' avg':<{w}}{_fmt(a['precision']):>10}{_fmt(a['recall']):>8}{_fmt(a['f1']):>8}")
    if "binary" in m["roc"]:
        op = m["roc"]["binary"]["chosen"]
        lines.append(f"\nOperating threshold for '{m['roc']['binary']['positive_class']}' (Youden's J): "
                     f"{op['threshold']:.3f}: sensitivity {_fmt(op['sensitivity'], True)}, specificity "
                     f"{_fmt(op['specificity'], True)}")
    lines.append("\nConfusion matrix (rows: true class, columns: predicted):")
    cw = max(6, *(len(c) for c in ev.classes)) + 1
    lines.append(" " * w + "".join(f"{c:>{cw}}" for c in ev.classes))
    for c, row in zip(ev.classes, m["confusion"], strict=True):
        lines.append(f"{c:<{w}}" + "".join(f"{v:>{cw}}" for v in row))
    lines.append(f"\n{m['n_low_confidence']} prediction(s) below {m['low_confidence_threshold']:.0%} confidence.")
    if ev.skipped:
        lines.append(f"{len(ev.skipped)} file(s) not evaluated:")
        lines += [f"  {s['file']}: {s['reason']}" for s in ev.skipped[:20]]
    return "\n".join(lines)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from core.evaluation.evaluate import evaluate, write_evaluation
    from core.models.saved import load_classifier
    from core.training.progress import TerminalProgress

    clf = load_classifier(args.model, allow_unsafe=args.allow_unsafe_model)
    bar = TerminalProgress()
    ev = evaluate(clf, args.folder, batch_size=args.batch_size, on_progress=bar.count)
    out = args.out or (clf.run_dir if not args.folder else None)
    if out:
        path = write_evaluation(ev, out)
        print(f"Saved {path} and predictions.csv", file=sys.stderr)
    if args.json:
        print(json.dumps(ev.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(format_evaluation(ev))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from core.evaluation.report import write_report

    html_path, pdf_path = write_report(args.run, args.out)
    print(f"Report: {html_path}\n        {pdf_path}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate`` and ``report`` to the ``foveal`` parser."""
    e = sub.add_parser("evaluate", help="metrics of a trained model on its held-out test images or a folder")
    e.add_argument("model", help="a run folder or a model.keras file")
    e.add_argument("folder", nargs="?", default=None,
                   help="a labelled folder (one sub-folder per class); default: the run's own test split")
    e.add_argument("--json", action="store_true", help="print metrics and every prediction as JSON")
    e.add_argument("--out", default=None, help="folder for evaluation.json and predictions.csv "
                   "(default: the run folder when evaluating its test split)")
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--allow-unsafe-model", action="store_true",
                   help="load a model file that contains Python code (only for files you trust)")
    e.set_defaults(func=_cmd_evaluate)
    r = sub.add_parser("report", help="write an HTML and a PDF report of a run")
    r.add_argument("run", help="a run folder")
    r.add_argument("--out", default=None, help="folder for report.html and report.pdf (default: the run folder)")
    r.set_defaults(func=_cmd_report)
