"""The automatic recipe's extra passes over the images: the same backbone at other input sizes, over each image's 8
rotations and flips, and over overlapping tiles at full resolution. Each pass costs one more extraction; each is
scored like every candidate and kept only when it wins.

Which passes a run makes is decided before it starts, from the images' median shorter side (a size the images
cannot support is not tried), the number of images (a pass costs in proportion to them) and ``search``:

- ``"auto"``: the passes the images support, cheapest first, while their extra cost stays within
  :data:`EXTRA_BUDGET` images' worth of the run's own pass (a few hundred images get every pass; 50,000 none),
  and none under :data:`MIN_IMAGES` images, where cross-validation cannot tell the passes apart;
- ``"full"``: every pass the images support, whatever it costs;
- ``"quick"``: none: the candidates at the run's own size only.

A run that fine-tunes tries the larger sizes only: rotations and tiles multiply every fine-tuning step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: The searches a person may ask for (TrainConfig.search, ``foveal train --search``).
SEARCHES = ("auto", "full", "quick")
#: The extra input sizes tried, as multiples of the run's own, when the images' median shorter side reaches them.
SIZE_FACTORS = (1.5, 2.0)
#: The largest input size a pass uses.
MAX_PASS_SIZE = 1024
#: Tiles are read on a canvas of this many times the input size (core.models.tiles: 3×3 overlapping tiles).
TILE_GRID = 2
#: ``"auto"`` keeps the extra passes whose total cost is at most this many images through the run's own pass
#: (about 8 minutes on a 2-core laptop with MobileNetV2 at 224 px).
EXTRA_BUDGET = 20_000
#: ``"auto"`` makes no extra pass under this many images: on fewer, a cross-validated accuracy's 95% interval is
#: ±10 points or more, wider than what a pass usually changes, and the pass would be chosen on noise.
MIN_IMAGES = 100
#: Why passes the images support were left out, in words (PassPlan.why).
WHY_LEFT = {"budget": "Left out to stay within the time budget",
            "few": f"Not tried with under {MIN_IMAGES} images (cross-validation cannot tell them apart)",
            "quick": "Not tried in a quick search"}


@dataclass(frozen=True)
class Pass:
    """One more pass of the backbone over every image: at input ``size``, averaged over ``orientations`` (1 or 8)
    versions of each image, or over the tiles of a ``tiles`` × size canvas (0: the whole image at once)."""

    size: int
    orientations: int = 1
    tiles: int = 0

    def suffix(self, base: int) -> str:
        """What a candidate's key adds to its pooling's name for this pass: ``"@336"``, ``"~8"``, ``"#2"``."""
        return ((f"@{self.size}" if self.size != base or self.tiles else "") + ("~8" if self.orientations == 8 else "")
                + (f"#{self.tiles}" if self.tiles else ""))

    def cost(self, base: int) -> float:
        """The pass's time per image, in passes at the run's own size (pixels through the backbone)."""
        tiles = (2 * self.tiles - 1) ** 2 if self.tiles else 1
        return (self.size / base) ** 2 * self.orientations * tiles

    @property
    def decode_size(self) -> int:
        """The side of the square each image is decoded at: the tiles' canvas, or the input size."""
        return self.size * self.tiles if self.tiles else self.size

    def plain(self) -> str:
        """The pass in words, for the time estimate and the window."""
        if self.tiles:
            return f"tiles of {self.size} px at full resolution"
        if self.orientations == 8:
            return "averaged over rotations and flips"
        return f"images at {self.size} px"


def parse_key(key: str, base: int) -> tuple[str, Pass]:
    """``"max@336~8"`` → ``("max", Pass(336, 8))``: a candidate's pooling and the pass its features came from."""
    rest, _, tiles = key.partition("#")
    rest, _, turned = rest.partition("~")
    pooling, _, size = rest.partition("@")
    return pooling, Pass(int(size) if size else base, int(turned) if turned else 1, int(tiles) if tiles else 0)


def median_side(sides: Sequence[int]) -> int:
    """The median of the images' shorter sides (0 for no images)."""
    ordered = sorted(sides)
    return ordered[len(ordered) // 2] if ordered else 0


def supported(side: int, base: int, *, fine_tunes: bool) -> list[Pass]:
    """Every pass images of median shorter side ``side`` support, cheapest first: larger sizes up to the images'
    own, the 8 orientations, and tiles when the images hold twice the input size."""
    out = [Pass(min(MAX_PASS_SIZE, int(f * base) // 8 * 8)) for f in SIZE_FACTORS if side >= f * base]
    out = [p for i, p in enumerate(out) if p.size > base and p not in out[:i]]
    if not fine_tunes:
        out.append(Pass(base, orientations=8))
        if side >= TILE_GRID * base and base % 2 == 0:  # tiles overlap by half a tile: an even side
            out.append(Pass(base, tiles=TILE_GRID))
    return sorted(out, key=lambda p: p.cost(base))


@dataclass(frozen=True)
class PassPlan:
    """The extra passes a run makes, and those it leaves out to stay within its budget."""

    kept: tuple[Pass, ...]
    left_out: tuple[Pass, ...]
    n_images: int
    base: int
    #: Why ``left_out`` were: "budget", "few" (under MIN_IMAGES images) or "quick" (:data:`WHY_LEFT`).
    why: str = "budget"

    def to_dict(self, search: str, made: Sequence[Pass] | None = None) -> dict:
        """What run.json keeps: the passes made (``made``: those the run compared, when it stopped or skipped one;
        default: the plan's) and those left out (each in words and as a key), and the search."""
        def listed(passes: Sequence[Pass]) -> list[dict]:
            return [{"words": p.plain(), "key": p.suffix(self.base), "size": p.size, "orientations": p.orientations,
                     "tiles": p.tiles, "cost": round(p.cost(self.base), 2)} for p in passes]

        return {"search": search, "made": listed(self.kept if made is None else made),
                "left_out": listed(self.left_out), "why_left_out": WHY_LEFT[self.why] if self.left_out else ""}

    def cost(self, passes: Sequence[Pass] | None = None) -> float:
        """The extra passes' cost, in images through the run's own pass."""
        return sum(p.cost(self.base) for p in (self.kept if passes is None else passes)) * self.n_images


def plan_passes(sides: Sequence[int], base: int, *, search: str = "auto", fine_tunes: bool = False) -> PassPlan:
    """The extra passes for images of shorter sides ``sides`` at input size ``base`` (see the module)."""
    if search not in SEARCHES:
        raise ValueError(f"search must be one of {', '.join(SEARCHES)}. Received: {search!r}")
    n = len(sides)
    candidates = supported(median_side(sides), base, fine_tunes=fine_tunes)
    if search == "quick":
        return PassPlan((), tuple(candidates), n, base, "quick")
    if search == "full":
        return PassPlan(tuple(candidates), (), n, base)
    if n < MIN_IMAGES:
        return PassPlan((), tuple(candidates), n, base, "few")
    kept: list[Pass] = []
    spent = 0.0
    for p in candidates:
        if spent + p.cost(base) * n <= EXTRA_BUDGET:
            kept.append(p)
            spent += p.cost(base) * n
    return PassPlan(tuple(kept), tuple(p for p in candidates if p not in kept), n, base)
