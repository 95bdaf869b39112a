"""DICOM headers: reading a data set with or without preamble and file meta, and checking at the scan that its
pixel data is complete and decodable (the DICOM part of :func:`core.data.image_formats.probe`)."""

from __future__ import annotations

import warnings

from foveal.core.data.image_formats import ImageInfo
from foveal.core.errors import ImageDecodeError


def read_dicom(path: str, **kwargs):
    """``pydicom.dcmread`` that also reads DICOM without preamble or file meta, and gives such a data set the
    transfer syntax it was found to be written in (decoders need it)."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from pydicom.uid import ExplicitVRBigEndian, ExplicitVRLittleEndian, ImplicitVRLittleEndian

    ds = pydicom.dcmread(path, force=True, **kwargs)  # callers silence pydicom's warnings of odd values
    meta = getattr(ds, "file_meta", None)
    if meta is None or "TransferSyntaxUID" not in meta:
        implicit, little = getattr(ds, "original_encoding", (True, True))
        syntax = ImplicitVRLittleEndian if implicit else ExplicitVRLittleEndian if little else ExplicitVRBigEndian
        if meta is None:
            ds.file_meta = meta = FileMetaDataset()
        meta.TransferSyntaxUID = syntax
    return ds


def probe_dicom(path: str, size: int) -> ImageInfo:
    with warnings.catch_warnings():  # values pydicom reads anyway ("Invalid value for VR IS") are not news
        warnings.simplefilter("ignore")
        return _probe_dicom_quietly(path, size)


def _probe_dicom_quietly(path: str, size: int) -> ImageInfo:
    from pydicom.errors import InvalidDicomError

    try:
        ds = read_dicom(path, defer_size=1024)
        pixel = ds.get_item("PixelData") if "PixelData" in ds else None
        rows, cols = int(ds.Rows), int(ds.Columns)
        bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)))
        photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2"))
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        signed = int(ds.get("PixelRepresentation", 0)) == 1
    except (InvalidDicomError, AttributeError, KeyError, ValueError, TypeError, OSError, EOFError) as exc:
        raise ImageDecodeError(path, f"corrupt DICOM file or no image in it: {exc}") from None
    if pixel is None:
        raise ImageDecodeError(path, "DICOM file without pixel data (a report or structured document, "
                               "not an image)")
    tell = getattr(pixel, "value_tell", None)
    length = getattr(pixel, "length", 0)
    if tell is not None and length not in (None, 0xFFFFFFFF) and tell + length > size:
        raise ImageDecodeError(path, "truncated DICOM file: the pixel data runs past the end of the file")
    _check_dicom_decoder(path, ds)
    mode = "gray" if photometric.startswith("MONOCHROME") else "RGB"
    return ImageInfo("DICOM", cols, rows, mode, bits, "int" if signed else "uint", frames)


def _check_dicom_decoder(path: str, ds) -> None:
    """Refuse, at scan time, pixel data that cannot be decoded, so that scan and decoding agree.

    Uncompressed pixel data must be as long as its rows, columns, samples and bits say. Compressed pixel data
    needs an installed decoder, and its first frame is decoded here: only decoding proves a compressed stream
    is sound (a 12-bit JPEG with misplaced markers parses fine).
    """
    from pydicom.pixels import get_decoder, pixel_array
    from pydicom.uid import UID

    meta = getattr(ds, "file_meta", None)
    syntax = UID(str(meta.get("TransferSyntaxUID", "") if meta is not None else "") or "1.2.840.10008.1.2")
    if not syntax.is_compressed:
        item = ds.get_item("PixelData")
        length = getattr(item, "length", None)
        if length is None and isinstance(getattr(item, "value", None), bytes | bytearray):
            length = len(item.value)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
            samples = 2  # chroma subsampled: two values per pixel on average
        frame = (int(ds.Rows) * int(ds.Columns) * samples * int(ds.get("BitsAllocated", 8) or 8) + 7) // 8
        needed = frame * int(ds.get("NumberOfFrames", 1) or 1)
        if isinstance(length, int) and length != 0xFFFFFFFF and length < needed:
            raise ImageDecodeError(path, f"truncated or corrupt DICOM: {length} bytes of pixel data where its "
                                   f"size says {needed}; copy it again from the source")
        return
    try:
        available = get_decoder(syntax).is_available
    except (NotImplementedError, ValueError, KeyError):
        available = False
    if not available:
        raise ImageDecodeError(path, f"compressed DICOM ({syntax.name}) that no installed decoder reads; "
                               "convert it to uncompressed DICOM (e.g. `gdcmconv --raw`) or reinstall Foveal "
                               "with its DICOM decoders (pylibjpeg)")
    try:
        pixel_array(ds, index=0)  # its warnings are silenced by probe_dicom, as every DICOM read here
    except Exception as exc:  # each decoder plug-in raises its own types
        detail = " ".join(str(exc).split())[:200]
        raise ImageDecodeError(path, f"corrupt compressed DICOM ({syntax.name}): its first frame cannot be "
                               f"decoded ({detail}); export it again from the source") from None
