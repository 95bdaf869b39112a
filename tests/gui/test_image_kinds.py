"""The Data view's image-kind line counts every image and says each kind once."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from foveal.gui.widgets.dataset_panel import kinds_in_words

_KEYS = st.builds(lambda f, m, d: f"{f} {m} {d}", st.sampled_from(["PNG", "JPEG", "TIFF", "DICOM", "BMP"]),
                  st.sampled_from(["RGB", "RGBA", "gray", "gray+alpha", "palette", "YCbCr", "CMYK"]),
                  st.sampled_from(["8-bit", "16-bit", "12-bit"]))


@given(st.dictionaries(_KEYS, st.integers(1, 500), min_size=1, max_size=12))
def test_every_image_is_counted_and_no_kind_is_said_twice(depths):
    words = kinds_in_words(depths)
    parts = words.split(", ") if re.match(r"\d", words) else [words]
    if len(parts) == 1 and not re.match(r"\d", words):  # one kind: said without a count
        return
    counted = sum(int(p.split(" ")[0]) for p in parts if re.match(r"\d+ ", p))
    assert counted == sum(depths.values())
    named = [p.split(" ", 1)[1] for p in parts if " other kinds" not in p]
    assert len(named) == len(set(named))


def test_rgb_and_rgba_pngs_are_one_kind():
    assert kinds_in_words({"PNG RGB 8-bit": 251, "PNG RGBA 8-bit": 2}) == "colour PNG"
    assert kinds_in_words({"PNG RGB 8-bit": 251, "JPEG gray 8-bit": 2}) == "251 colour PNG, 2 greyscale JPEG"
