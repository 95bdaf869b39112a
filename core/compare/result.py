"""What a comparison found: one row per candidate, ranked as training ranks its recipe's candidates (accuracy, or
balanced accuracy where the classes are imbalanced: core.training.recipe.Ranking), and a recommendation in plain
words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from foveal.core.training.recipe import BALANCED, METRIC_WORDS, Ranking

COMPARE_FORMAT = "foveal-compare"


@dataclass(frozen=True)
class Row:
    """One candidate: scored, or skipped with the reason."""

    backbone: str
    size: int
    status: str  # "scored", "skipped" (no weights, or they do not fit) or "failed"
    reason: str = ""
    accuracy: float | None = None
    accuracy_interval: tuple[float, float] | None = None
    balanced_accuracy: float | None = None
    balanced_interval: tuple[float, float] | None = None
    fold_accuracies: tuple[float, ...] = ()
    ms_per_image: float | None = None  # decoding and one backbone pass, on this computer
    size_mb: float | None = None  # the saved classifier's weights (float32)
    recipe: str = ""  # the head the automatic recipe chose most often
    seconds: float | None = None
    #: The larger input size a frozen run with the automatic recipe also tries on these images (None: none).
    larger_size: int | None = None

    @property
    def label(self) -> str:
        return f"{self.backbone} at {self.size} px"

    @property
    def scored(self) -> bool:
        return self.status == "scored"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "label": self.label}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Row:
        names = {f for f in cls.__dataclass_fields__}
        kw = {k: v for k, v in d.items() if k in names}
        for k in ("accuracy_interval", "balanced_interval", "fold_accuracies"):
            if kw.get(k) is not None:
                kw[k] = tuple(kw[k])
        return cls(**kw)


@dataclass(frozen=True)
class Comparison:
    """Every candidate of one comparison, best first (skipped ones last), with how it was measured."""

    data_dir: str
    weights: str
    n_images: int
    folds: int
    majority: float  # accuracy of always answering the largest class
    majority_class: str
    rows: tuple[Row, ...]
    outcome: str = "completed"  # or "cancelled": the candidates done so far
    seconds: float = 0.0
    path: str = ""  # the saved compare.json
    split: dict[str, Any] = field(default_factory=dict)
    #: What the rows are ranked by: the automatic recipe's ranking of these images (core.training.recipe).
    ranking: Ranking = field(default_factory=Ranking)

    @property
    def ranked(self) -> list[Row]:
        """Scored rows best first, by the key training ranks its candidates by (then the faster), then the rest."""
        scored = sorted((r for r in self.rows if r.scored),
                        key=lambda r: (*self.ranking.key(r), r.ms_per_image or 0))
        return scored + [r for r in self.rows if not r.scored]

    @property
    def recommended(self) -> Row | None:
        """The fastest candidate as good as the best within the best one's interval (None: none scored)."""
        ranked = [r for r in self.ranked if r.scored]
        if not ranked:
            return None
        lo = self._low(ranked[0])
        return min((r for r in ranked if self._score(r) >= lo), key=lambda r: r.ms_per_image or float("inf"))

    def _score(self, row: Row) -> float:
        """The row's score on what the rows are ranked by."""
        return (row.balanced_accuracy if self.ranking.metric == BALANCED else row.accuracy) or 0.0

    def _low(self, row: Row) -> float:
        """The low end of the row's 95% interval on what the rows are ranked by."""
        interval = row.balanced_interval if self.ranking.metric == BALANCED else row.accuracy_interval
        return interval[0] if interval else self._score(row)

    def recommendation(self) -> str:
        """Which candidate to train with, and why, in one or two sentences."""
        ranked = [r for r in self.ranked if r.scored]
        pick = self.recommended
        if pick is None:
            return "No backbone could be scored: see the reasons in the table (usually missing weights)."
        best, words = ranked[0], METRIC_WORDS[self.ranking.metric]
        lo = self.accuracy_low(best)
        balanced = self.ranking.metric == BALANCED
        interval = best.balanced_interval if balanced else best.accuracy_interval
        if pick is best:
            text = f"{best.label}: the best {words} ({_pct(self._score(best))}"
            text += f", 95% interval {_interval(interval)})" if interval else ")"
            if len(ranked) > 1 and pick.ms_per_image == min(r.ms_per_image or float("inf") for r in ranked):
                text += " and the fastest"
        else:
            speedup = (best.ms_per_image or 0) / max(pick.ms_per_image or 1e-9, 1e-9)
            text = (f"{pick.label}: as good as the best ({best.label}, {_pct(self._score(best))} {words}) within "
                    f"its interval, {speedup:.1f}× faster")
        text += "."
        if balanced:
            text += (f" Ranked by balanced accuracy (each class counted equally), as training ranks its candidates "
                     f"here: {self.ranking.why()}.")
        if pick.larger_size:
            text += (f" Training it with the automatic recipe and a frozen backbone also tries {pick.backbone} "
                     f"at {pick.larger_size} px, since these images are large, and keeps that size only if it "
                     "scores better in the same cross-validation.")
        if lo <= self.majority:
            text += (f" Careful: always answering '{self.majority_class}' would score {_pct(self.majority)}, "
                     "inside the best one's interval, so no backbone is shown to do better than that here.")
        return text

    def accuracy_low(self, row: Row) -> float:
        """The low end of the row's accuracy interval (what the majority class is compared with)."""
        return row.accuracy_interval[0] if row.accuracy_interval else row.accuracy or 0.0

    def table(self) -> str:
        """The ranked table for a terminal: columns as wide as their longest entry, two spaces apart."""
        ranked = self.ranked
        name_w = max([len("backbone"), *(len(r.label) for r in ranked)]) + 2
        acc_w = len("accuracy (95% interval)") + 2
        lines = [f"Backbones compared on {self.n_images} training and validation images of {self.data_dir} "
                 f"({self.folds}-fold cross-validation; the test split is not used; weights: {self.weights})",
                 f"Always answering '{self.majority_class}' would score {_pct(self.majority)}.",
                 f"Ranked by {METRIC_WORDS[self.ranking.metric]}, as training ranks its candidates: "
                 f"{self.ranking.why()}.", "",
                 f"{'':4}{'backbone':<{name_w}}{'accuracy (95% interval)':<{acc_w}}{'balanced':<10}{'ms/image':>9}"
                 f"{'size':>10}  head chosen"]
        for i, r in enumerate(ranked, 1):
            if not r.scored:
                lines.append(f"{'–':<4}{r.label:<{name_w}}{r.status}: {r.reason}")
                continue
            acc = f"{_pct(r.accuracy)} ({_interval(r.accuracy_interval)})"
            lines.append(f"{i:<4}{r.label:<{name_w}}{acc:<{acc_w}}{_pct(r.balanced_accuracy):<10}"
                         f"{r.ms_per_image or 0:>9.1f}{r.size_mb or 0:>7.1f} MB  {r.recipe}")
        lines += ["", "Recommendation: " + self.recommendation()]
        if self.recommended is not None:
            r = self.recommended
            lines.append(f"To train with it: foveal train DIR --backbone {r.backbone} --image-size {r.size}")
        if self.outcome == "cancelled":
            lines.append("Cancelled: only the candidates above were compared.")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """What ``compare.json`` holds."""
        return {"format": COMPARE_FORMAT, "version": 1, "data_dir": self.data_dir, "weights": self.weights,
                "n_images": self.n_images, "folds": self.folds, "majority": self.majority,
                "majority_class": self.majority_class, "outcome": self.outcome, "seconds": self.seconds,
                "split": self.split, "recommendation": self.recommendation(), **self.ranking.to_dict(),
                "rows": [r.to_dict() for r in self.ranked]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "") -> Comparison:
        ratio, floor = d.get("imbalance"), d.get("floor")
        ranking = Ranking(BALANCED if d.get("ranked_by") == BALANCED else "accuracy",
                          float(ratio) if isinstance(ratio, int | float) else 1.0,
                          float(floor) if isinstance(floor, int | float) and not isinstance(floor, bool) else 0.0)
        return cls(d["data_dir"], d["weights"], d["n_images"], d["folds"], d["majority"], d["majority_class"],
                   tuple(Row.from_dict(r) for r in d["rows"]), d.get("outcome", "completed"),
                   d.get("seconds", 0.0), path, d.get("split", {}), ranking)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _interval(iv: tuple[float, float] | None) -> str:
    return "–" if iv is None else f"{iv[0]:.1%}–{iv[1]:.1%}"
