"""Finding, checking and decoding images in a class-per-folder dataset."""

from foveal.core.data.decode import decode_image
from foveal.core.data.scan import DatasetSummary, ImageRecord, SkippedFile, scan_dataset

__all__ = ["DatasetSummary", "ImageRecord", "SkippedFile", "decode_image", "scan_dataset"]
