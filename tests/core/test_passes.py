"""The automatic recipe's extra passes: which the images support, which the budget keeps, and their keys."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from foveal.core.training.passes import EXTRA_BUDGET, MIN_IMAGES, Pass, median_side, parse_key, plan_passes, supported

SIDES = st.lists(st.integers(1, 5000), min_size=1, max_size=60)
BASES = st.sampled_from([32, 96, 160, 224, 299, 331])
SEARCHES = st.sampled_from(["auto", "full", "quick"])


@given(SIDES, BASES, SEARCHES, st.booleans(), st.integers(1, 200_000))
def test_a_plan_keeps_what_the_images_support_within_its_budget(sides, base, search, fine_tunes, n):
    plan = plan_passes(sides * (n // len(sides) + 1), base, search=search, fine_tunes=fine_tunes)
    every = supported(median_side(sides), base, fine_tunes=fine_tunes)
    assert sorted(plan.kept + plan.left_out, key=repr) == sorted(every, key=repr)  # each pass once, kept or not
    side = median_side(sides)
    for p in every:
        # a larger size or a tiles' canvas only where the images hold it (the rotations at the run's own size)
        assert p.size == base or base < p.size <= side
        assert p.decode_size == p.size or p.decode_size <= side
        assert p.cost(base) > 1
        if fine_tunes:  # rotations and tiles multiply every fine-tuning step: only larger sizes
            assert p.orientations == 1 and p.tiles == 0 and p.size > base
    if search == "quick":
        assert plan.kept == ()
    elif search == "full":
        assert plan.left_out == ()
    elif plan.n_images < MIN_IMAGES:  # too few images to tell passes apart
        assert plan.kept == () and plan.why == "few"
    else:
        assert plan.cost() <= EXTRA_BUDGET
        # nothing left out would have fitted beside what was kept
        assert all(plan.cost() + p.cost(base) * plan.n_images > EXTRA_BUDGET for p in plan.left_out)


@given(BASES, st.sampled_from([1, 8]), st.sampled_from([0, 2]), st.sampled_from([1.0, 1.5, 2.0]),
       st.sampled_from(["avg", "max", "grid"]))
def test_a_candidates_key_names_its_pooling_and_pass(base, orientations, tiles, factor, pooling):
    if tiles and orientations == 8:
        return  # one at a time
    p = Pass(int(base * factor), orientations, tiles)
    name, back = parse_key(pooling + p.suffix(base), base)
    assert (name, back) == (pooling, p)


def test_large_images_support_every_pass_and_small_ones_only_the_rotations():
    assert [p.suffix(224) for p in supported(480, 224, fine_tunes=False)] == ["@336", "@448", "~8", "@224#2"]
    assert [p.suffix(224) for p in supported(224, 224, fine_tunes=False)] == ["~8"]
    assert [p.plain() for p in supported(480, 224, fine_tunes=True)] == ["images at 336 px", "images at 448 px"]
    assert Pass(224, tiles=2).plain() == "tiles of 224 px at full resolution"
    assert Pass(224, orientations=8).plain() == "averaged over rotations and flips"


def test_the_budget_keeps_every_pass_for_hundreds_of_images_and_none_for_fifty_thousand():
    assert len(plan_passes([480] * 350, 224).kept) == 4
    few = plan_passes([480] * 4000, 224)
    assert [p.suffix(224) for p in few.kept] == ["@336"] and len(few.left_out) == 3
    assert plan_passes([480] * 50_000, 224).kept == ()
    assert plan_passes([480] * 99, 224).kept == () and len(plan_passes([480] * 99, 224, search="full").kept) == 4
    assert len(plan_passes([480] * 50_000, 224, search="full").kept) == 4


@given(st.integers(16, 600), st.integers(1, 5000))
def test_tiles_are_planned_only_for_an_even_input_size(base, side):
    """Tiles overlap by half a tile: an odd input size (the window's size box allows one) gets no tiles pass."""
    from foveal.core.models.tiles import tile_boxes

    for p in supported(side, base, fine_tunes=False):
        if p.tiles:
            assert base % 2 == 0 and len(tile_boxes(p.size, p.tiles)) == 9
