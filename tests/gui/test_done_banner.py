"""What the person asked for is said done inside the view, with Open and Show in folder that open the right
places."""

from __future__ import annotations

from PySide6.QtCore import QUrl

from foveal.gui.widgets.done_banner import DoneBanner


def test_open_opens_the_file_and_show_in_folder_its_folder(qtbot, tmp_path):
    opened: list[str] = []
    banner = DoneBanner(open_url=lambda url: opened.append(QUrl(url).toLocalFile()))
    qtbot.addWidget(banner)
    assert banner.isHidden()
    made = tmp_path / "report.html"
    made.write_text("x")
    banner.show_done("Report written", made)
    assert not banner.isHidden() and "Report written" in banner.label.text()
    banner.open_button.click()
    banner.folder_button.click()
    assert opened == [str(made), str(tmp_path)]
    banner.close_button.click()
    assert banner.isHidden()


def test_a_problem_offers_nothing_to_open(qtbot):
    opened: list[str] = []
    banner = DoneBanner(open_url=lambda url: opened.append(url))
    qtbot.addWidget(banner)
    banner.show_problem("The disk is full: free some space and try again")
    assert "Not done" in banner.label.text() and "disk is full" in banner.label.text()
    assert banner.open_button.isHidden() and banner.folder_button.isHidden() and opened == []
