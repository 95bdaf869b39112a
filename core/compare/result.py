"""What a comparison found: one row per candidate, ranked, and a recommendation in plain words."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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

    @property
    def ranked(self) -> list[Row]:
        scored = sorted((r for r in self.rows if r.scored),
                        key=lambda r: (-(r.accuracy or 0), -(r.balanced_accuracy or 0), r.ms_per_image or 0))
        return scored + [r for r in self.rows if not r.scored]

    @property
    def recommended(self) -> Row | None:
        """The fastest candidate as accurate as the best within the best one's interval (None: none scored)."""
        ranked = [r for r in self.ranked if r.scored]
        if not ranked:
            return None
        lo = self._low(ranked[0])
        return min((r for r in ranked if (r.accuracy or 0) >= lo), key=lambda r: r.ms_per_image or float("inf"))

    @staticmethod
    def _low(row: Row) -> float:
        return row.accuracy_interval[0] if row.accuracy_interval else row.accuracy or 0.0

    def recommendation(self) -> str:
        """Which candidate to train with, and why, in one or two sentences."""
        ranked = [r for r in self.ranked if r.scored]
        pick = self.recommended
        if pick is None:
            return "No backbone could be scored: see the reasons in the table (usually missing weights)."
        best = ranked[0]
        lo = self._low(best)
        if pick is best:
            text = f"{best.label}: the most accurate ({_pct(best.accuracy)}"
            text += f", 95% interval {_interval(best.accuracy_interval)})" if best.accuracy_interval else ")"
            if len(ranked) > 1 and pick.ms_per_image == min(r.ms_per_image or float("inf") for r in ranked):
                text += " and the fastest"
        else:
            speedup = (best.ms_per_image or 0) / max(pick.ms_per_image or 1e-9, 1e-9)
            text = (f"{pick.label}: as accurate as the best ({best.label}, {_pct(best.accuracy)}) within its "
                    f"interval, {speedup:.1f}× faster")
        text += "."
        if lo <= self.majority:
            text += (f" Careful: always answering '{self.majority_class}' would score {_pct(self.majority)}, "
                     "inside the best one's interval, so no backbone is shown to do better than that here.")
        return text

    def table(self) -> str:
        """The ranked table for a terminal."""
        lines = [f"Backbones compared on {self.n_images} training and validation images of {self.data_dir} "
                 f"({self.folds}-fold cross-validation; the test split is not used; weights: {self.weights})",
                 f"Always answering '{self.majority_class}' would score {_pct(self.majority)}.", "",
                 f"{'':3}{'backbone':<26}{'accuracy (95% interval)':<26}{'balanced':<10}{'ms/image':>9}"
                 f"{'size':>9}  head chosen"]
        for i, r in enumerate(self.ranked, 1):
            if not r.scored:
                lines.append(f"{'–':<3}{r.label:<26}{r.status}: {r.reason}")
                continue
            acc = f"{_pct(r.accuracy)} ({_interval(r.accuracy_interval)})"
            lines.append(f"{i:<3}{r.label:<26}{acc:<26}{_pct(r.balanced_accuracy):<10}{r.ms_per_image or 0:>9.1f}"
                         f"{r.size_mb or 0:>6.1f} MB  {r.recipe}")
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
                "split": self.split, "recommendation": self.recommendation(),
                "rows": [r.to_dict() for r in self.ranked]}

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "") -> Comparison:
        return cls(d["data_dir"], d["weights"], d["n_images"], d["folds"], d["majority"], d["majority_class"],
                   tuple(Row.from_dict(r) for r in d["rows"]), d.get("outcome", "completed"),
                   d.get("seconds", 0.0), path, d.get("split", {}))


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x:.1%}"


def _interval(iv: tuple[float, float] | None) -> str:
    return "–" if iv is None else f"{iv[0]:.1%}–{iv[1]:.1%}"
