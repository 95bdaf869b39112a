"""The sets of copies the split keeps together can be looked at: each set's images, which check found it, and the
split of each image."""

from __future__ import annotations

import shutil

from PIL import Image

from tests import factory
from tests.gui.conftest import load


def test_the_copies_found_are_shown_set_by_set_with_the_check_that_found_them(qtbot, make_window, tmp_path):
    data = factory.make_class_folder(tmp_path / "data", {"a": 8, "b": 8}, size=64)
    shutil.copy(data / "a" / "a_000.png", data / "a" / "a_000 copy.png")  # the same bytes
    with Image.open(factory.SHARED / "data" / "busi" / "benign" / "benign (1).png") as real:
        picture = real.convert("RGB").resize((96, 96))
    picture.save(data / "b" / "b_photo.png")  # a real picture, and the same picture smaller and re-saved
    picture.resize((64, 64)).save(data / "b" / "b_photo small.jpg", quality=90)
    before = sorted(p.name for p in data.rglob("*"))
    window = make_window()
    load(qtbot, window, data)
    panel = window.dataset_panel
    qtbot.waitUntil(lambda: not panel.copies_button.isHidden(), timeout=20_000)
    assert panel.copies_button.text() == "Show the 2 set(s) of copies…"
    panel.copies_button.click()
    dialog = panel.copies_dialog
    assert dialog is not None and dialog.isVisible()
    texts = [dialog.list.item(i).text() for i in range(dialog.list.count())]
    headers = [t for t in texts if t.startswith("Set ")]
    assert len(headers) == 2 and any("identical files" in h for h in headers)
    assert any("the same picture, resized or re-saved" in h for h in headers)
    shown = {t.split("\n")[0]: t.split("\n")[1] for t in texts if not t.startswith("Set ")}
    assert set(shown) == {"a_000.png", "a_000 copy.png", "b_photo.png", "b_photo small.jpg"}
    assert shown["a_000.png"] == shown["a_000 copy.png"] and shown["b_photo.png"] == shown["b_photo small.jpg"]
    assert set(shown.values()) <= {"training", "validation", "test"}  # kept together, in one split each
    qtbot.waitUntil(lambda: all(not item.icon().isNull() for item in dialog.items), timeout=10_000)
    dialog.reject()
    assert sorted(p.name for p in data.rglob("*")) == before  # the dataset is only read
