"""What a run says of images the scan called usable that it could not read: changed since the scan, or not."""

from __future__ import annotations

import os

from foveal.core.data.image_formats import probe
from foveal.core.data.scan import ImageRecord
from foveal.core.split.make import Split
from foveal.core.training.lost import lost_images, lost_warning
from tests import factory


def test_lost_images_are_called_changed_only_when_their_size_or_time_changed(tmp_path):
    paths = [factory.write_jpeg(tmp_path / f"{i}.jpg") for i in range(4)]
    records = tuple(ImageRecord(str(p), p.name, "a", None, probe(p), p.stat().st_size, p.stat().st_mtime)
                    for p in paths)
    split = Split(records[:2], records[2:3], records[3:])
    damaged = [("0.jpg", "broken data stream")]
    words = lost_warning(lost_images(split, damaged))
    assert words is not None and "could not be decoded (damaged inside: broken data stream)" in words
    assert "were they changed" not in words
    os.utime(paths[0], (0, 0))
    words = lost_warning(lost_images(split, damaged))
    assert words is not None and "were they changed while the run read them?" in words
