"""Decoding any supported image file into an RGB array for training and prediction.

The rules, applied the same way everywhere (training, evaluation, prediction, export checks):

* Only the first frame/page of a multi-frame GIF, TIFF or DICOM is used.
* EXIF orientation is applied.
* 8-bit images keep their values. High-bit and float images (16-bit PNG/TIFF, 32-bit TIFF, most DICOM) are
  mapped to 0–255 *from their real range* in floating point, never clipped to 8 bits first: DICOM with a
  window centre/width uses that window; everything else uses the image's own minimum and maximum.
* DICOM: rescale slope/intercept (the modality LUT) first; MONOCHROME1 is inverted so bright means dense.
* Gray becomes RGB by repeating the channel. Alpha is composited over black. Palette images use their palette.
  CMYK and YCbCr use Pillow's conversion. Two-channel TIFF becomes red/green; more than four channels keep the
  first three.
* Resizing (when asked) is bilinear with antialiasing, to exactly the requested size (no crop, no padding).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from foveal.core.data.dicom_headers import read_dicom
from foveal.core.data.image_formats import (
    MAX_PIXELS,
    PILLOW_FORMATS,
    check_complete,
    check_tiff_complete,
    open_regular,
    reading,
    sniff,
)
from foveal.core.errors import ImageDecodeError


def decode_image(
    path: str | os.PathLike[str],
    size: int | tuple[int, int] | None = None,
    *,
    dtype: str = "uint8",
) -> np.ndarray:
    """Decode one image file into an ``H×W×3`` RGB array.

    Parameters
    ----------
    path:
        An image file in any format :func:`core.data.scan_dataset` accepts.
    size:
        ``(height, width)`` or a single side for a square; ``None`` keeps the image's own size.
    dtype:
        ``"uint8"`` (values 0–255) or ``"float32"`` (values 0–255, keeping high-bit precision).

    Raises
    ------
    ImageDecodeError
        If the file cannot be decoded; the message names the file and the reason.
    """
    if dtype not in ("uint8", "float32"):
        raise ValueError(f"dtype must be 'uint8' or 'float32'. Received: dtype={dtype!r}")
    path = os.fspath(path)
    target = (size, size) if isinstance(size, int) else size
    try:
        with open_regular(path) as fh:  # never a pipe or a device: they would block or never end
            head = fh.read(132)
            fmt = sniff(head)
            if fmt in PILLOW_FORMATS:  # the scan's checks, so a file that lies about its length is never read
                check_complete(path, fh, fmt, head, os.fstat(fh.fileno()).st_size)
        if fmt is None:
            raise ImageDecodeError(path, "not an image Foveal can read (JPEG, PNG, BMP, GIF, WebP, TIFF, DICOM)")
        if fmt == "DICOM":
            with warnings.catch_warnings():  # odd values and excess padding pydicom reads anyway are not news
                warnings.simplefilter("ignore")
                pixels = _load_dicom(path)
        elif fmt == "TIFF":
            pixels = _load_tiff(path)
        else:
            pixels = _load_pillow(path, fmt, target, head)
        rgb = to_rgb(pixels)
        if target is not None:
            rgb = _resize(rgb, target)
    except ImageDecodeError:
        raise
    except MemoryError:
        raise ImageDecodeError(path, "too large to decode in the memory available") from None
    except Exception as exc:  # decoders raise many types for broken files; the user needs the reason
        raise ImageDecodeError(path, f"cannot be decoded: {exc}") from None
    if dtype == "uint8":
        return rgb if rgb.dtype == np.uint8 else np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return rgb.astype(np.float32, copy=False)


def normalise_range(values: np.ndarray) -> np.ndarray:
    """Map an array to float32 0–255 from its own finite minimum and maximum (a flat image becomes 0)."""
    x = values.astype(np.float32, copy=False)
    finite = np.isfinite(x)
    if not finite.all():
        x = np.where(finite, x, np.nan)
    lo, hi = np.nanmin(x) if finite.any() else 0.0, np.nanmax(x) if finite.any() else 0.0
    if not hi > lo:
        return np.zeros(x.shape, np.float32)
    out = np.clip((x - lo) * (255.0 / (hi - lo)), 0.0, 255.0)  # clip: float rounding can step past the ends
    return np.nan_to_num(out, nan=0.0).astype(np.float32, copy=False)


def to_rgb(pixels: np.ndarray) -> np.ndarray:
    """Turn ``H×W``, ``H×W×1/2/3/4/N`` uint8 or float 0–255 arrays into ``H×W×3`` following the module rules."""
    if pixels.ndim == 2:
        return np.repeat(pixels[:, :, None], 3, axis=2)
    channels = pixels.shape[2]
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if channels == 2:  # gray+alpha from Pillow; two-channel TIFFs are converted before this
        return np.repeat(_over_black(pixels[:, :, :1], pixels[:, :, 1:2]), 3, axis=2)
    if channels == 4:
        return _over_black(pixels[:, :, :3], pixels[:, :, 3:4])
    return np.ascontiguousarray(pixels[:, :, :3])


def _over_black(colour: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    if colour.dtype == np.uint8:
        out = colour.astype(np.uint16) * alpha.astype(np.uint16) // 255
        return out.astype(np.uint8)
    return colour * (alpha / 255.0)


def _check_pixels(path: str, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageDecodeError(path, f"refused: {width}×{height} pixels is over the "
                               f"{MAX_PIXELS // 1_000_000} megapixel limit (decompression bomb?)")


def _load_pillow(path: str, fmt: str, target: tuple[int, int] | None, head: bytes) -> np.ndarray:
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(path) as opened:
            im: Image.Image = opened
            _check_pixels(path, *im.size)
            if fmt == "PNG" and head[24:26] in (b"\x10\x02", b"\x10\x04", b"\x10\x06"):  # 16-bit colour or alpha
                return _orient(_load_png16(path), im.getexif().get(0x0112, 1))
            if fmt == "JPEG" and target is not None:
                side = max(target)
                im.draft("RGB" if im.mode == "RGB" else im.mode, (side, side))  # fast DCT downscale
            im.seek(0)
            im = ImageOps.exif_transpose(im)
            return _pil_to_array(im)


def _pil_to_array(im) -> np.ndarray:
    mode = im.mode
    if mode == "1":
        im, mode = im.convert("L"), "L"
    elif mode in ("P", "PA"):
        alpha = mode == "PA" or "transparency" in im.info
        im = im.convert("RGBA" if alpha else "RGB")
    elif mode in ("CMYK", "YCbCr", "RGBX", "LAB", "HSV"):
        im = im.convert("RGB")
    arr = np.asarray(im)
    if arr.dtype != np.uint8:  # I;16, I, F: high-bit gray
        arr = normalise_range(arr)
    return arr


def _load_png16(path: str) -> np.ndarray:
    """16-bit RGB, RGBA and gray+alpha PNG: Pillow would cut them to 8 bits; libpng (through imagecodecs, a
    runtime dependency) keeps all 16. Colour is mapped from its real range; alpha is scaled to 0–255."""
    import imagecodecs

    with open_regular(path) as fh:
        arr = imagecodecs.png_decode(fh.read())
    if arr.ndim == 2:
        arr = arr[:, :, None]
    planes = arr.shape[2]
    alpha = planes in (2, 4)
    colour = normalise_range(arr[:, :, : planes - alpha])
    if alpha:
        scale = 255.0 / (65535.0 if arr.dtype == np.uint16 else 255.0)
        return np.concatenate([colour, arr[:, :, planes - 1 :].astype(np.float32) * scale], axis=2)
    return colour


def _orient(arr: np.ndarray, orientation: int) -> np.ndarray:
    """An EXIF orientation (2–8) applied to an array, as ``ImageOps.exif_transpose`` does to an image."""
    steps = {2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
             5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1), 7: lambda a: a[::-1, ::-1].swapaxes(0, 1),
             8: lambda a: np.rot90(a, 1)}
    step = steps.get(orientation)
    return np.ascontiguousarray(step(arr)) if step else arr


def _load_tiff(path: str) -> np.ndarray:
    import tifffile

    try:
        with reading(path), tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            _check_pixels(path, page.imagewidth, page.imagelength)
            check_tiff_complete(path, page, tif.filehandle.size)
            arr = page.asarray()
            planar_separate = page.planarconfig == 2
            extras = tuple(getattr(page, "extrasamples", ()) or ())
            photometric = int(page.photometric)
    except ValueError as exc:
        if "imagecodecs" not in str(exc):
            raise
        from PIL import Image  # a compression tifffile needs an extra codec for; Pillow has it built in

        with Image.open(path) as im:
            return _pil_to_array(im)
    arr = np.squeeze(arr)
    if arr.ndim == 3 and planar_separate:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim > 3:  # volumes, time series: first plane
        arr = arr.reshape((-1,) + arr.shape[-3:])[0] if arr.shape[-1] <= 4 else arr.reshape((-1,) + arr.shape[-2:])[0]
    alpha = arr.ndim == 3 and arr.shape[2] in (2, 4) and any(int(e) in (1, 2) for e in extras)
    if arr.dtype == np.uint8:
        values = arr
    elif arr.dtype == np.bool_:
        values = arr.astype(np.uint8) * 255
    else:
        values = normalise_range(arr[..., :-1] if alpha else arr)
        if alpha:
            values = np.concatenate([values, normalise_range(arr[..., -1:])], axis=2)
    if photometric == 0:  # MINISWHITE: 0 is white
        values = (255 - values) if values.dtype == np.uint8 else 255.0 - values
    if values.ndim == 3 and values.shape[2] == 2 and not alpha:
        blue = np.zeros(values.shape[:2] + (1,), values.dtype)
        values = np.concatenate([values, blue], axis=2)
    return values


def _load_dicom(path: str) -> np.ndarray:
    import pydicom
    from pydicom.pixels import apply_modality_lut, pixel_array

    ds = read_dicom(path)  # DICOM without preamble too, as the scan accepts it
    _check_pixels(path, int(ds.Columns), int(ds.Rows))
    try:
        arr = pixel_array(ds, index=0)  # the first frame only: the scan reports multi-frame files
    except (RuntimeError, NotImplementedError) as exc:
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown") if hasattr(ds, "file_meta") else "unknown"
        raise ImageDecodeError(path, f"compressed DICOM ({getattr(syntax, 'name', syntax)}) that no installed "
                               f"decoder reads ({exc}); convert it to uncompressed DICOM") from None
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
    if not photometric.startswith("MONOCHROME"):
        return arr if arr.dtype == np.uint8 else normalise_range(arr)
    values = apply_modality_lut(arr, ds).astype(np.float32)
    centre, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if centre is not None and width is not None:
        c = float(centre[0] if isinstance(centre, pydicom.multival.MultiValue) else centre)
        w = float(width[0] if isinstance(width, pydicom.multival.MultiValue) else width)
        lo = c - w / 2.0
        out = np.clip((values - lo) / max(w, 1.0), 0.0, 1.0) * 255.0
    elif arr.dtype == np.uint8 and "RescaleSlope" not in ds:
        out = values
    else:
        out = normalise_range(values)
    if photometric == "MONOCHROME1":
        out = 255.0 - out
    return out.astype(np.float32)


def _resize(rgb: np.ndarray, target: tuple[int, int]) -> np.ndarray:
    from PIL import Image

    height, width = target
    if rgb.shape[:2] == (height, width):
        return rgb
    if rgb.dtype == np.uint8:
        return np.asarray(Image.fromarray(rgb).resize((width, height), Image.Resampling.BILINEAR))
    planes = [
        np.asarray(Image.fromarray(np.ascontiguousarray(rgb[:, :, c], dtype=np.float32))
                   .resize((width, height), Image.Resampling.BILINEAR))
        for c in range(3)
    ]
    return np.stack(planes, axis=2)
