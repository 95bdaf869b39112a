"""Every ``keras.applications`` image backbone Foveal offers, with what a user needs to choose one.

Numbers are Keras's published figures (keras.io/api/applications): ImageNet top-1, parameters of the full
model with its 1000-class top, and file size. ``feature_dim`` is the width of the pooled backbone output, which
the tests check for the backbones they build. Importing this module does not import TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from foveal.core.errors import ConfigError


class Weights(StrEnum):
    """Where a backbone's weights come from, when not from a file the user gives."""

    IMAGENET = "imagenet"
    """Keras's ImageNet weights (from its cache, downloaded once)."""
    NONE = "none"
    """Random initialisation: no pretrained weights."""

    @classmethod
    def parse(cls, value: str | None) -> Weights | str:
        """A :class:`Weights` for "imagenet"/"none" (any case; ``None`` is NONE), else the path as given."""
        if value is None:
            return cls.NONE
        try:
            return cls(str(value).lower())
        except ValueError:
            return value

# How pixels in 0–255 become the backbone's input, as its own preprocess_input does:
#   "tf":    x / 127.5 - 1
#   "caffe": RGB -> BGR, minus the ImageNet mean per channel
#   "torch": x / 255, minus mean, divided by std per channel
#   "none":  the backbone takes 0–255 and preprocesses inside itself
PREPROCESS_MODES = ("tf", "caffe", "torch", "none")


@dataclass(frozen=True)
class BackboneSpec:
    """One backbone: how to build it and what to tell the user about it."""

    name: str
    family: str
    input_size: int
    feature_dim: int
    params_m: float
    size_mb: float
    top1: float
    preprocess: str
    block_pattern: str
    good_for: str
    min_size: int = 32
    builder_kwargs: dict = field(default_factory=dict)

    @property
    def speed(self) -> str:
        """A speed class for the picker, from Keras's CPU inference time per image."""
        ms = CPU_MS.get(self.name, 100.0)
        return "fast" if ms < 35 else "medium" if ms < 80 else "slow" if ms < 200 else "very slow"

    def to_dict(self) -> dict:
        return {
            "name": self.name, "family": self.family, "input_size": self.input_size,
            "feature_dim": self.feature_dim, "params_m": self.params_m, "size_mb": self.size_mb,
            "top1": self.top1, "speed": self.speed, "good_for": self.good_for,
            "recommended": self.name == DEFAULT_BACKBONE,
        }


#: Keras's published CPU inference time (ms per step) of each backbone at its own input size: its speed class,
#: and the time estimate's default speed relative to MobileNetV2 (core.training.estimate).
CPU_MS = {
    "Xception": 109.4, "VGG16": 69.5, "VGG19": 84.8, "ResNet50": 58.2, "ResNet50V2": 45.6, "ResNet101": 89.6,
    "ResNet101V2": 72.7, "ResNet152": 127.4, "ResNet152V2": 107.5, "InceptionV3": 42.2,
    "InceptionResNetV2": 130.2, "MobileNet": 22.6, "MobileNetV2": 25.9, "MobileNetV3Small": 15.0,
    "MobileNetV3Large": 25.0, "DenseNet121": 77.1, "DenseNet169": 96.4, "DenseNet201": 127.2,
    "NASNetMobile": 27.0, "NASNetLarge": 344.5, "EfficientNetB0": 46.0, "EfficientNetB1": 60.2,
    "EfficientNetB2": 80.8, "EfficientNetB3": 140.0, "EfficientNetB4": 308.3, "EfficientNetB5": 579.2,
    "EfficientNetB6": 958.1, "EfficientNetB7": 1578.9, "EfficientNetV2B0": 45.0, "EfficientNetV2B1": 55.0,
    "EfficientNetV2B2": 70.0, "EfficientNetV2B3": 110.0, "EfficientNetV2S": 250.0, "EfficientNetV2M": 600.0,
    "EfficientNetV2L": 1200.0, "ConvNeXtTiny": 120.0, "ConvNeXtSmall": 200.0, "ConvNeXtBase": 350.0,
    "ConvNeXtLarge": 750.0,
}

# Block patterns: a regex whose group "b" names the block a layer belongs to. A block ends at the last layer
# after which the network narrows to a single tensor (see core.models.blocks).
_VGG = r"^(?P<b>block\d+)_"
_RESNET = r"^(?P<b>conv\d)_"
_EFF = r"^block(?P<b>\d)[a-z]_"
_DENSE = r"^(?:conv|pool)(?P<b>\d)[_/]"
_NASNET = r"^(?:normal|reduction|adjust)\w*?_(?P<b>stem_\d|reduce_\d+|\d+)$"  # NASNet cells: no cut points


def _spec(name, family, size, dim, params, mb, top1, pre, pattern, good, **kw) -> BackboneSpec:
    return BackboneSpec(name, family, size, dim, params, mb, top1, pre, pattern, good, **kw)


_ALL = [
    _spec("VGG16", "VGG", 224, 512, 138.4, 528, 71.3, "caffe", _VGG,
          "simple and well understood; slow and large on a CPU"),
    _spec("VGG19", "VGG", 224, 512, 143.7, 549, 71.3, "caffe", _VGG, "like VGG16, a little deeper"),
    _spec("ResNet50", "ResNet", 224, 2048, 25.6, 98, 74.9, "caffe", _RESNET,
          "the classic all-rounder; a safe choice with a GPU"),
    _spec("ResNet101", "ResNet", 224, 2048, 44.7, 171, 76.4, "caffe", _RESNET, "deeper ResNet, for larger datasets"),
    _spec("ResNet152", "ResNet", 224, 2048, 60.4, 232, 76.6, "caffe", _RESNET, "deepest ResNet; slow on a CPU"),
    _spec("ResNet50V2", "ResNetV2", 224, 2048, 25.6, 98, 76.0, "tf", _RESNET, "ResNet50, improved training"),
    _spec("ResNet101V2", "ResNetV2", 224, 2048, 44.7, 171, 77.2, "tf", _RESNET, "ResNet101, improved training"),
    _spec("ResNet152V2", "ResNetV2", 224, 2048, 60.4, 232, 78.0, "tf", _RESNET, "ResNet152, improved training"),
    _spec("InceptionV3", "Inception", 299, 2048, 23.9, 92, 77.9, "tf", r"^(?P<b>mixed\d+)$",
          "multi-scale features; popular in medical imaging papers", min_size=75),
    _spec("Xception", "Xception", 299, 2048, 22.9, 88, 79.0, "tf", _VGG,
          "accurate for its size; slow on a CPU", min_size=71),
    _spec("InceptionResNetV2", "Inception", 299, 1536, 55.9, 215, 80.3, "tf",
          r"^(?P<b>mixed_\w+|block\d+_\d+|conv_7b)", "very accurate, heavy", min_size=75),
    _spec("MobileNet", "MobileNet", 224, 1024, 4.3, 16, 70.4, "tf", r"^conv_(?:dw|pw|pad)_(?P<b>\d+)",
          "tiny and fast; good for small datasets on a laptop"),
    _spec("MobileNetV2", "MobileNet", 224, 1280, 3.5, 14, 71.3, "tf", r"^block_(?P<b>\d+)_",
          "fast on a CPU and accurate enough for most lab datasets (recommended)"),
    _spec("MobileNetV3Small", "MobileNet", 224, 576, 2.5, 10, 68.1, "none", r"^expanded_conv_(?P<b>\d+)_",
          "the fastest; for quick experiments", builder_kwargs={"include_preprocessing": True}),
    _spec("MobileNetV3Large", "MobileNet", 224, 960, 5.4, 22, 75.6, "none", r"^expanded_conv_(?P<b>\d+)_",
          "fast and more accurate than MobileNetV2", builder_kwargs={"include_preprocessing": True}),
    _spec("DenseNet121", "DenseNet", 224, 1024, 8.1, 33, 75.0, "torch", _DENSE, "compact; used for chest X-rays"),
    _spec("DenseNet169", "DenseNet", 224, 1664, 14.3, 57, 76.2, "torch", _DENSE, "larger DenseNet"),
    _spec("DenseNet201", "DenseNet", 224, 1920, 20.2, 80, 77.3, "torch", _DENSE, "largest DenseNet"),
    _spec("NASNetMobile", "NASNet", 224, 1056, 5.3, 23, 74.4, "tf", _NASNET,
          "small, found by architecture search"),
    _spec("NASNetLarge", "NASNet", 331, 4032, 88.9, 343, 82.5, "tf", _NASNET,
          "very accurate, very slow on a CPU"),
]
for _i, (_size, _dim, _params, _mb, _top1, _ms) in enumerate([
    (224, 1280, 5.3, 29, 77.1, "fast enough on a CPU, accurate: a strong default with a GPU"),
    (240, 1280, 7.9, 31, 79.1, "EfficientNet, a step up"),
    (260, 1408, 9.2, 36, 80.1, "EfficientNet, larger inputs"),
    (300, 1536, 12.3, 48, 81.6, "accurate; slow on a CPU"),
    (380, 1792, 19.5, 75, 82.9, "for a GPU"),
    (456, 2048, 30.6, 118, 83.6, "for a GPU"),
    (528, 2304, 43.3, 166, 84.0, "for a GPU"),
    (600, 2560, 66.7, 256, 84.3, "for a large GPU"),
]):
    _ALL.append(_spec(f"EfficientNetB{_i}", "EfficientNet", _size, _dim, _params, _mb, _top1, "none", _EFF, _ms))
for _n, _size, _dim, _params, _mb, _top1, _good in [
    ("B0", 224, 1280, 7.2, 29, 78.7, "modern and efficient"),
    ("B1", 240, 1280, 8.2, 34, 79.8, "modern and efficient"),
    ("B2", 260, 1408, 10.2, 42, 80.5, "modern and efficient"),
    ("B3", 300, 1536, 14.5, 59, 82.0, "accurate; best with a GPU"),
    ("S", 384, 1280, 21.6, 88, 83.9, "for a GPU"),
    ("M", 480, 1280, 54.4, 220, 85.3, "for a large GPU"),
    ("L", 480, 1280, 119.0, 479, 85.7, "for a large GPU"),
]:
    _ALL.append(_spec(f"EfficientNetV2{_n}", "EfficientNetV2", _size, _dim, _params, _mb, _top1, "none", _EFF, _good,
                      builder_kwargs={"include_preprocessing": True}))
for _n, _dim, _params, _mb, _top1 in [("Tiny", 768, 28.6, 109, 81.3), ("Small", 768, 50.2, 192, 82.3),
                                       ("Base", 1024, 88.5, 339, 85.3), ("Large", 1536, 197.7, 755, 86.3)]:
    _ALL.append(_spec(f"ConvNeXt{_n}", "ConvNeXt", 224, _dim, _params, _mb, _top1, "none", r"_stage_(?P<b>\d)_",
                      "modern, very accurate; heavy on a CPU", builder_kwargs={"include_preprocessing": True}))

BACKBONES: dict[str, BackboneSpec] = {s.name: s for s in _ALL}

#: Blocks per backbone as core.models.blocks cuts them, for pickers that must not build the model to know;
#: the tests check these against the real models.
BLOCK_COUNTS = {"VGG16": 5, "VGG19": 5, "ResNet50": 5, "ResNet101": 5, "ResNet152": 5, "ResNet50V2": 5,
                "ResNet101V2": 5, "ResNet152V2": 5, "InceptionV3": 11, "Xception": 14, "InceptionResNetV2": 44,
                "MobileNet": 13, "MobileNetV2": 16, "MobileNetV3Small": 10, "MobileNetV3Large": 14,
                "DenseNet121": 5, "DenseNet169": 5, "DenseNet201": 5, "EfficientNetV2B0": 6,
                "EfficientNetV2B1": 6, "EfficientNetV2B2": 6, "EfficientNetV2B3": 6, "EfficientNetV2S": 6,
                "EfficientNetV2M": 7, "EfficientNetV2L": 7, "ConvNeXtTiny": 4, "ConvNeXtSmall": 4,
                "ConvNeXtBase": 4, "ConvNeXtLarge": 4, "NASNetMobile": 16, "NASNetLarge": 22,
                **{f"EfficientNetB{i}": 7 for i in range(8)}}

#: Fast and good on a laptop CPU.
DEFAULT_BACKBONE = "MobileNetV2"


def get_backbone(name: str) -> BackboneSpec:
    """Look up a backbone by name (case-insensitive).

    Raises
    ------
    ConfigError
        For an unknown name, listing the close matches and how to see them all.
    """
    by_lower = {k.lower(): v for k, v in BACKBONES.items()}
    spec = by_lower.get(name.lower().replace("-", "").replace("_", ""))
    if spec is None:
        import difflib

        close = difflib.get_close_matches(name, list(BACKBONES), n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(close)}?" if close else ""
        raise ConfigError(f"Unknown backbone {name!r}.{hint} Run `foveal backbones` to list them all.")
    return spec
