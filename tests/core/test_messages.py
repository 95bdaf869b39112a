"""Messages instead of tracebacks, and words that say what is true."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from foveal.core.errors import ConfigError, DatasetError
from tests import factory


@pytest.mark.parametrize(("setting", "value", "words"), [
    ("epochs", "many", "a whole number"), ("learning_rate", [1], "a number"), ("augment", "yes", "true or false"),
    ("image_size", 2.5, "a whole number or empty"), ("batch_size", True, "a whole number")])
def test_a_setting_of_the_wrong_type_is_named(tmp_path, setting, value, words):
    from foveal.core.config_file import load_config_file

    path = tmp_path / "run_config.json"
    path.write_text(json.dumps({"data_dir": str(tmp_path), setting: value}), encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}.*'{setting}' must be {words}"):
        load_config_file(path)


def test_no_usable_images_names_the_class_folders_it_found(tmp_path):
    from foveal.core.data.scan import scan_dataset

    for name in ("normal", "tumour"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "x.png").write_text("not an image")
    problem = scan_dataset(tmp_path).problem
    assert "found class folders 'normal' (0 usable images), 'tumour' (0 usable images)" in problem
    assert "2 file(s) were skipped" in problem and "no class folders" not in problem


def test_size_range_names_real_images(tmp_path):
    from foveal.core.data.scan import scan_dataset

    for name, shape in (("a", (50, 20000)), ("b", (20000, 50)), ("c", (1, 1))):
        (tmp_path / name).mkdir()
        Image.fromarray(np.zeros(shape + (3,), np.uint8)).save(tmp_path / name / "x.png")
    (small, large) = scan_dataset(tmp_path).size_range
    assert small == (1, 1) and large in ((20000, 50), (50, 20000))  # never 20000×20000


def test_one_group_error_names_the_groups_and_the_pattern(tmp_path):
    from foveal.core.data.scan import scan_dataset
    from foveal.core.split.plan import prepare_split
    from foveal.core.training.config import TrainConfig

    factory.make_class_folder(tmp_path / "d", {"a": 4, "b": 4}, size=16)
    for p in (tmp_path / "d").rglob("*.png"):
        p.rename(p.with_name("P01_" + p.name))  # every file one patient
    with pytest.raises(DatasetError, match=r"Only 1 group\(s\) of images \('P01'\).*--group-pattern"):
        prepare_split(scan_dataset(tmp_path / "d"), TrainConfig(str(tmp_path / "d"), group_by="filename").split_spec)


def test_tifffile_warnings_name_the_file(tmp_path, caplog):
    import logging

    from foveal.core.data.image_formats import reading

    with reading("/lab/slide7.tif"), caplog.at_level(logging.WARNING, logger="tifffile"):
        logging.getLogger("tifffile").warning("invalid tag value")
    assert caplog.records[-1].getMessage() == "/lab/slide7.tif: invalid tag value"


def test_tall_and_wide_thumbnails_fit_their_pdf_cell(tmp_path):
    """A 20000×50 image among the errors used to break the PDF layout (an image taller than the page)."""
    import io

    from reportlab.lib.pagesizes import A4
    from reportlab.platypus import SimpleDocTemplate

    from foveal.core.evaluation.document import Gallery
    from foveal.core.evaluation.report import _pdf_block

    pngs = []
    for shape in ((360, 1), (1, 360), (360, 360)):
        buf = io.BytesIO()
        Image.fromarray(np.zeros(shape + (3,), np.uint8)).save(buf, "PNG")
        pngs.append((buf.getvalue(), "image"))
    doc = SimpleDocTemplate(str(tmp_path / "r.pdf"), pagesize=A4)
    doc.build(_pdf_block(Gallery(pngs), __import__("reportlab.lib.styles").lib.styles.getSampleStyleSheet(),
                         doc.width))
    assert (tmp_path / "r.pdf").stat().st_size > 1000


def test_native_start_up_chatter_is_filtered_but_real_errors_pass():
    from foveal.core.native_log import CHATTER

    chatter = [b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
               b"I0000 00:00:1796235578.974321   11372 cudart_stub.cc:31] Could not find cuda drivers on your "
               b"machine, GPU will not be used.",
               b"E0000 00:00:1796235586.080581   11372 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA "
               b"error: Failed call to cuInit: UNKNOWN ERROR (303)",
               b"To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
               b"appropriate compiler flags."]
    kept = [b"E0000 00:00:1.0   1 op_kernel.cc:1830] OP_REQUIRES failed: out of memory",
            b"Fatal Python error: Segmentation fault", b"Training the new head (1 epoch)"]
    assert all(CHATTER.match(line) for line in chatter)
    assert not any(CHATTER.match(line) for line in kept)
