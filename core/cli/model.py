"""Commands that use a trained model: ``evaluate``, ``report``, ``predict`` and ``export``."""

from __future__ import annotations

import argparse
import json
import sys

from foveal.core.cli.options import PREDICT_BATCH, PROBABILITY, TOP_K, checked
from foveal.core.evaluation.metrics import format_value as _fmt
from foveal.core.io import check_target
from foveal.core.paths import protect


def format_evaluation(ev) -> str:
    """The evaluation as a terminal table: headline numbers, per-class metrics, the confusion matrix."""
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    lines = [f"Evaluated on {m['n']} images ({ev.source}).",
             f"Accuracy {_fmt(m['accuracy'], True)} (95% CI {_fmt(lo, True)}–{_fmt(hi, True)}), balanced accuracy "
             f"{_fmt(m['balanced_accuracy'], True)}, macro AUC {_fmt(m['roc']['macro_auc'])}, calibration error "
             f"{_fmt(m['calibration']['ece'])}"]
    lines += [m["headline"]] if m.get("headline") else []
    lines += [*m.get("cautions", []), ""]
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
        b = m["roc"]["binary"]
        lines.append(f"\nPositive class '{b['positive_class']}' ({b.get('positive_reason', 'the second class')}; "
                     "--positive-class chooses another), operating threshold "
                     f"{op['threshold']:.3f} ({op.get('rule_plain') or op['rule']}): sensitivity "
                     f"{_fmt(op['sensitivity'], True)}, "
                     f"specificity {_fmt(op['specificity'], True)}, PPV {_fmt(op['ppv'], True)}, NPV "
                     f"{_fmt(op['npv'], True)}")
    lines.append("\nConfusion matrix (rows: actual class, columns: predicted class):")
    cw = max(6, *(len(c) for c in ev.classes)) + 1
    lines.append(" " * w + "".join(f"{c:>{cw}}" for c in ev.classes))
    for c, row in zip(ev.classes, m["confusion"], strict=True):
        lines.append(f"{c:<{w}}" + "".join(f"{v:>{cw}}" for v in row))
    lines.append(f"\n{m['n_low_confidence']} prediction(s) below {m['low_confidence_threshold']:.0%} confidence.")
    lines.append(unfamiliar_sentence(m))
    if ev.skipped:
        lines.append(f"{len(ev.skipped)} file(s) not evaluated:")
        lines += [f"  {s['file']}: {s['reason']}" for s in ev.skipped[:20]]
    return "\n".join(lines)


def unfamiliar_sentence(metrics: dict) -> str:
    """How many evaluated images look unlike the training images, in words."""
    if "n_unfamiliar" not in metrics:
        return ("No check for images unlike the training ones: the run was made before Foveal kept the statistics "
                "for it.")
    return (f"{metrics['n_unfamiliar']} of {metrics['n']} image(s) do not look like the images the model learned "
            "from (their answers may be meaningless).")


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from foveal.core.evaluation.evaluate import check_evaluation_folder, evaluate, write_evaluation
    from foveal.core.models.saved import load_classifier
    from foveal.core.training.progress import TerminalProgress

    if args.folder:
        protect(args.folder)
    if args.out:
        check_evaluation_folder(args.out)  # the root, or a user's file of the same name: refused before any work
    clf = load_classifier(args.model, allow_unsafe=args.allow_unsafe_model)
    bar = TerminalProgress()
    ev = evaluate(clf, args.folder, batch_size=args.batch_size, on_progress=bar.count,
                  positive_class=args.positive_class)
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
    from foveal.core.evaluation.report import check_report_folder, write_report
    from foveal.core.runs import read_run

    read_run(args.run)  # the run folder is checked (and its dataset protected) before any work
    if args.out:
        check_report_folder(args.out)

    html_path, pdf_path = write_report(args.run, args.out)
    print(f"Report: {html_path}\n        {pdf_path}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    from foveal.core.evaluation.predict_table import prediction_rows, print_rows, save_rows_csv
    from foveal.core.models.predict import files_under, predict_files
    from foveal.core.models.saved import load_classifier
    from foveal.core.training.progress import TerminalProgress

    files = files_under(args.paths)
    if args.csv and args.csv != "-":
        check_target(args.csv, "file")  # before the work, not after it
    if not files:
        print("error: no files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    clf = load_classifier(args.model, allow_unsafe=args.allow_unsafe_model)
    result = predict_files(clf, files, batch_size=args.batch_size, on_progress=TerminalProgress().count)
    rows = prediction_rows(files, result, clf.classes, args.top_k, args.low_confidence)
    if args.csv:
        save_rows_csv(rows, args.csv, min(args.top_k, len(clf.classes)))
        if args.csv != "-":
            print(f"{len(rows)} rows written to {args.csv}", file=sys.stderr)
    else:
        print_rows(rows)
    if result.failed:
        print(f"{len(result.failed)} of {len(files)} file(s) could not be read (see the error column).",
              file=sys.stderr)
    if result.unfamiliar is None:
        print("No 'unlike the training images' check for this model: its run was made before Foveal kept the "
              "statistics for it (train again to have it).", file=sys.stderr)
    elif result.unfamiliar.any():
        print(f"{int(result.unfamiliar.sum())} of {len(result.indices)} image(s) do not look like the images the "
              "model learned from: they get no answer (the model's guess is kept, marked as a guess; in a CSV, "
              "unfamiliar=true).", file=sys.stderr)
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from foveal.core.export.export import export_model

    result = export_model(args.run, args.format, args.out, tflite_type=args.tflite_type,
                          check_images=args.check_images, on_step=lambda text: print(text + "…", file=sys.stderr))
    print(result.summary())
    if not result.passed:
        print(f"error: the export disagrees with Foveal; it was kept aside at {result.folder} for inspection and "
              "should not be used.", file=sys.stderr)
        return 1
    print(f"Folder: {result.folder} (labels.txt, predict_example.py, export_check.json beside the model)")
    return 0


def _add_unsafe_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--allow-unsafe-model", action="store_true",
                        help="load a model file that contains Python code (only for files you trust)")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``evaluate``, ``report``, ``predict`` and ``export`` to the ``foveal`` parser."""
    from foveal.core.evaluation.metrics import LOW_CONFIDENCE
    from foveal.core.export.writers import FORMATS, TFLITE_TYPES

    p = sub.add_parser("predict", help="classify image files and folders with a trained model")
    p.add_argument("model", help="a run folder or a model.keras file")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files and folders (searched recursively)")
    p.add_argument("--csv", default=None, metavar="OUT", help="write a CSV file (- for standard output)")
    p.add_argument("--top-k", type=int, default=3,
                   help=f"how many classes to list per image, {TOP_K.words()} (all the model's classes when it has "
                        "fewer; default 3)")
    p.add_argument("--low-confidence", type=float, default=LOW_CONFIDENCE,
                   help=f"flag predictions whose top probability is below this, {PROBABILITY.words()} (default "
                        f"{LOW_CONFIDENCE})")
    p.add_argument("--batch-size", type=int, default=32, help=f"{PREDICT_BATCH.words()} (default 32)")
    _add_unsafe_option(p)
    p.set_defaults(func=checked(_cmd_predict, top_k=TOP_K, low_confidence=PROBABILITY, batch_size=PREDICT_BATCH))
    x = sub.add_parser("export", help="export a trained model for use without Foveal, checked after writing")
    x.add_argument("run", help="a run folder")
    x.add_argument("--format", required=True, choices=FORMATS)
    x.add_argument("--tflite-type", default="float32", choices=TFLITE_TYPES,
                   help="TFLite weights: float32 (default), float16, or int8 (approximate; calibrated on "
                   "training images)")
    x.add_argument("--out", default=None, help="output folder (default: RUN/export/FORMAT)")
    x.add_argument("--check-images", nargs="+", default=None, metavar="PATH",
                   help="images to check the export on (default: the run's test images)")
    x.set_defaults(func=checked(_cmd_export))
    e = sub.add_parser("evaluate", help="metrics of a trained model on its held-out test images or a folder")
    e.add_argument("model", help="a run folder or a model.keras file")
    e.add_argument("folder", nargs="?", default=None,
                   help="a labelled folder (one sub-folder per class); default: the run's own test split")
    e.add_argument("--json", action="store_true", help="print metrics and every prediction as JSON")
    e.add_argument("--out", default=None, help="folder for evaluation.json and predictions.csv "
                   "(default: the run folder when evaluating its test split)")
    e.add_argument("--batch-size", type=int, default=32, help=f"{PREDICT_BATCH.words()} (default 32)")
    e.add_argument("--positive-class", default=None, metavar="CLASS",
                   help="two classes: the one sensitivity, specificity, PPV and NPV are about (default: the rarer "
                        "in training)")
    _add_unsafe_option(e)
    e.set_defaults(func=checked(_cmd_evaluate, batch_size=PREDICT_BATCH))
    r = sub.add_parser("report", help="write an HTML and a PDF report of a run")
    r.add_argument("run", help="a run folder")
    r.add_argument("--out", default=None, help="folder for report.html and report.pdf (default: the run folder)")
    r.set_defaults(func=checked(_cmd_report))
