"""Real image files in every format Foveal reads, and every kind of bad file, written for tests."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
MOBILENET_V2_WEIGHTS = SHARED / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.h5"


def real_weights() -> str:
    """The shared real MobileNetV2 ImageNet weights file (the test skips where it is absent).

    A frozen backbone needs pretrained weights: Foveal refuses to train a head on random features."""
    if not MOBILENET_V2_WEIGHTS.exists():
        pytest.skip(f"real ImageNet weights not found at {MOBILENET_V2_WEIGHTS} (shared/weights/README.md)")
    return str(MOBILENET_V2_WEIGHTS)


def gradient(h: int = 40, w: int = 60, channels: int = 3, seed: int = 0) -> np.ndarray:
    """A non-constant uint8 test picture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = (x * 255 // max(w - 1, 1)).astype(np.uint8)
    planes = [base, (y * 255 // max(h - 1, 1)).astype(np.uint8), rng.integers(0, 255, (h, w), dtype=np.uint8)]
    arr = np.stack(planes[:channels], axis=2) if channels > 1 else base
    return arr


def write_jpeg(path: Path, arr: np.ndarray | None = None, orientation: int | None = None, mode: str = "RGB") -> Path:
    im = Image.fromarray(gradient() if arr is None else arr)
    if mode == "CMYK":
        im = im.convert("CMYK")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    im.save(path, "JPEG", quality=95, exif=exif.tobytes())
    return path


def write_png16_gray(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr.astype(np.uint16)).save(path, "PNG")
    return path


def write_png16_rgb(path: Path, arr: np.ndarray) -> Path:
    import png

    h, w, c = arr.shape
    with open(path, "wb") as fh:
        png.Writer(w, h, greyscale=False, alpha=c == 4, bitdepth=16).write(fh, arr.reshape(h, w * c).tolist())
    return path


def write_dicom(path: Path, arr: np.ndarray, *, photometric: str = "MONOCHROME2", slope: float = 1.0,
                intercept: float = 0.0, window: tuple[float, float] | None = None, bits_stored: int = 12) -> Path:
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.PatientID = "TEST-001"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 0
    ds.RescaleSlope = slope
    ds.RescaleIntercept = intercept
    if window:
        ds.WindowCenter, ds.WindowWidth = window
    ds.PixelData = arr.astype("<u2").tobytes()
    ds.save_as(path, enforce_file_format=True)
    return path


def write_png_bomb(path: Path, width: int = 200_000, height: int = 200_000) -> Path:
    """A few-hundred-byte PNG whose header claims a gigantic image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def truncate(path: Path, keep: float = 0.5) -> Path:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def make_class_folder(root: Path, classes: dict[str, int], size: int = 48, seed: int = 0) -> Path:
    """A clean class-per-folder dataset of small PNGs whose classes differ visibly (for training tests)."""
    rng = np.random.default_rng(seed)
    for k, (name, n) in enumerate(classes.items()):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            arr = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
            arr[..., k % 3] += 150  # class k is dominated by one colour channel
            if k >= 3:
                arr[: size // 2] = 255 - arr[: size // 2]
            Image.fromarray(arr).save(folder / f"{name}_{i:03d}.png")
    return root
