"""The Evaluate view's text and lists made from an evaluation: the summary under the headline (intervals, baseline,
cautions, the two-class numbers), and suspected mislabels as predictions the gallery can show."""

from __future__ import annotations

import html
import os
from collections.abc import Sequence

from foveal.core.evaluation.evaluate import Evaluation, Prediction
from foveal.core.evaluation.metrics import format_value as _f


def summary_html(ev: Evaluation) -> str:
    """The lines beside the accuracy: on how many images, its interval, the other metrics, the headline against
    the majority class and every caution, and, for two classes, the numbers for the positive class."""
    m = ev.metrics
    lo, hi = m["accuracy_ci"]
    return (f"accuracy on {m['n']} held-out images ({ev.source}); 95% CI {_f(lo, True)}–{_f(hi, True)}<br>"
            f"balanced accuracy {_f(m['balanced_accuracy'], True)} · macro AUC {_f(m['roc']['macro_auc'])} · "
            f"calibration error {_f(m['calibration']['ece'])} · {m['n_low_confidence']} low-confidence"
            + "".join(f"<br><b>{html.escape(t, quote=False)}</b>" for t in (m.get("headline"), *m.get("cautions", []))
                      if t) + _binary_words(m))


def _binary_words(m: dict) -> str:
    """Two classes: sensitivity, specificity, PPV and NPV for the positive class at the run's threshold."""
    b = m.get("roc", {}).get("binary")
    if not b:
        return ""
    op = b["chosen"]
    why = html.escape(b.get("positive_reason") or "the second class")
    return (f"<br>For '{html.escape(b['positive_class'])}' (the positive class: {why}): sensitivity "
            f"{_f(op['sensitivity'], True)}, specificity {_f(op['specificity'], True)}, PPV {_f(op['ppv'], True)}, "
            f"NPV {_f(op['npv'], True)} at threshold {op['threshold']:.2f} "
            f"({html.escape(op.get('rule_plain') or op['rule'])})")


def as_predictions(found: Sequence, classes: Sequence[str], root: str) -> list[Prediction]:
    """Suspected mislabels (core.training.mislabels) as predictions: labelled as their folder says, "predicted"
    as the class they look like, with the two probabilities confident learning gave."""
    out = []
    for s in found:
        probs = [0.0] * len(classes)
        probs[classes.index(s.given)], probs[classes.index(s.suggested)] = s.p_given, s.p_suggested
        out.append(Prediction(s.file, os.path.join(root, s.file), s.given, s.suggested, s.p_suggested,
                              tuple(probs), False))
    return out


def dataset_root(run_dir: str | None) -> str | None:
    """The dataset folder a run was trained on, None when there is no run or its folder is damaged since (then
    there are no suspected mislabels to show)."""
    from foveal.core.errors import FovealError
    from foveal.core.runs import read_run

    try:
        return os.path.realpath(read_run(run_dir).dataset.root) if run_dir is not None else None
    except (OSError, ValueError, FovealError):
        return None
