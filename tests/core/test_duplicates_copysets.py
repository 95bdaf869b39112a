"""Copy sets are real copies: each member the same picture as every other (never a chain), found in linear work."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from foveal.core.data.scan import scan_dataset
from foveal.core.split.copysets import THRESHOLD, Pictures, copy_sets, hash_distance
from foveal.core.split.duplicates import near_duplicate_groups

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


@st.composite
def chains(draw):
    """Hash lists holding a chain h0 ≈ h1 ≈ … in which each step flips 2 new bits (so h0 and h3 differ in 6), with
    the same picture thumbnail along the chain, among unrelated images; in a drawn order."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    length = draw(st.integers(3, 9))
    bits = rng.permutation(64)[: 2 * length]
    base = int(rng.integers(0, 2**63)) * 2
    hashes, chain = [], []
    h = base
    for step in range(length):
        hashes.append(h)
        chain.append(step)
        h ^= (1 << int(bits[2 * step])) | (1 << int(bits[2 * step + 1]))
    thumb = rng.integers(0, 256, 64)
    thumbs = [thumb] * length
    for _ in range(draw(st.integers(0, 12))):  # unrelated pictures, some near the chain's hashes
        near = draw(st.booleans())
        hashes.append(hashes[int(rng.integers(0, length))] ^ (1 << int(rng.integers(0, 64))) if near
                      else int(rng.integers(0, 2**63)))
        thumbs.append(thumb if near and draw(st.booleans()) else rng.integers(0, 256, 64))
    order = draw(st.permutations(range(len(hashes))))
    return (np.array([hashes[i] for i in order], dtype=np.uint64), np.array([thumbs[i] for i in order]),
            [order.index(c) for c in chain])


@settings(max_examples=150, deadline=None)
@given(chains())
def test_a_chain_never_merges_ends_beyond_the_threshold(case):
    hashes, thumbs, chain = case
    pictures = Pictures(hashes, thumbs)
    sets = copy_sets(hashes, thumbs)
    where = {i: k for k, members in enumerate(sets) for i in members}
    for members in sets:  # complete link: every member the same picture as every other
        a, b = np.triu_indices(len(members), 1)
        assert pictures.same(np.array(members)[a], np.array(members)[b]).all()
    for x in chain:
        for y in chain:
            if hash_distance(hashes[[x]], hashes[[y]])[0] > THRESHOLD:
                assert x not in where or where.get(y) != where[x]
    alone = [i for i in range(len(hashes)) if i not in where]
    for i in alone:  # nothing left out that is a copy of another image left out
        others = np.array([j for j in alone if j != i], dtype=np.int64)
        assert not pictures.same(np.full(len(others), i), others).any()


def test_neighbouring_pictures_that_share_a_hash_are_not_copies():
    rng = np.random.default_rng(0)
    hashes = np.array([12345] * 3 + [12345 ^ 0b11], dtype=np.uint64)
    thumbs = rng.integers(0, 256, (4, 64))  # four different pictures whose hashes agree
    thumbs[3] = np.clip(thumbs[0] + rng.integers(-2, 3, 64), 0, 255)  # a re-encoded copy of the first
    assert copy_sets(hashes, thumbs) == [[0, 3]]


def test_many_identical_low_detail_images_are_one_set_in_linear_work():
    n = 5000
    hashes = np.full(n, 0xF0F0F0F0F0F0F0F0, dtype=np.uint64)
    thumbs = np.full((n, 64), 7)
    hashes[-1] ^= np.uint64(0xFF)  # another picture: 8 bits off
    sets = copy_sets(hashes, thumbs)
    assert sets == [list(range(n - 1))]


def test_real_x_rays_alike_by_hash_are_told_apart_from_their_copies(tmp_path):
    source = SHARED / "pneumoniamnist" / "normal"
    names = ("train_01482.png", "train_02260.png")  # two patients whose hashes differ in 4 bits
    if not all((source / n).is_file() for n in names):
        pytest.skip("the shared PneumoniaMNIST images are not here")
    data = tmp_path / "data" / "normal"
    data.mkdir(parents=True)
    for n in names:
        with Image.open(source / n) as im:
            im.save(data / n)
    with Image.open(source / names[0]) as im:
        im.convert("RGB").save(data / "copy_q75.jpg", quality=75)
        im.resize((56, 56), Image.Resampling.BICUBIC).save(data / "copy_double.png")
    groups = near_duplicate_groups(scan_dataset(tmp_path / "data").images)
    assert groups == [("normal/copy_double.png", "normal/copy_q75.jpg", f"normal/{names[0]}")]
