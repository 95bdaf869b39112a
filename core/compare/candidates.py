"""The candidates a comparison scores: a backbone at an input size, written ``NAME[@SIZE]`` on the command line."""

from __future__ import annotations

from dataclasses import dataclass

from foveal.core.errors import ConfigError
from foveal.core.models.registry import BACKBONES, DEFAULT_BACKBONE, BackboneSpec, get_backbone

#: The larger input size tried for the default backbone: small structures (cells in a smear, a lesion's edge)
#: are lost when a large image is shrunk to 224 px.
LARGER_SIZE = 320


@dataclass(frozen=True)
class Candidate:
    """One backbone at one input size."""

    spec: BackboneSpec
    size: int

    @property
    def label(self) -> str:
        return f"{self.spec.name} at {self.size} px"

    @property
    def key(self) -> str:
        """How the command line writes it: ``MobileNetV2@320``."""
        return f"{self.spec.name}@{self.size}"


def parse_candidates(text: str) -> list[Candidate]:
    """``"MobileNetV2@320,ResNet50"`` → candidates (a backbone without ``@SIZE`` at its own input size).

    Raises
    ------
    ConfigError
        For an unknown backbone, a size that is not a whole number, or one below the backbone's minimum.
    """
    out: list[Candidate] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, _, size_text = item.partition("@")
        spec = get_backbone(name.strip())
        try:
            size = int(size_text) if size_text.strip() else spec.input_size
        except ValueError:
            raise ConfigError(f"Input size {size_text!r} of {item!r} is not a whole number of pixels: write "
                              f"e.g. {spec.name}@320.") from None
        if size < spec.min_size or size > 1024:
            raise ConfigError(f"{spec.name} takes input sizes from {spec.min_size} to 1024 px. Received: {item!r}.")
        candidate = Candidate(spec, size)
        if candidate not in out:
            out.append(candidate)
    if not out:
        raise ConfigError("No backbones to compare: give names such as MobileNetV2,MobileNetV2@320,ResNet50 "
                          "(`foveal backbones` lists them all).")
    return out


def default_candidates() -> list[Candidate]:
    """The fast backbones at their own input size, and the default one at a larger size too."""
    out = [Candidate(spec, spec.input_size) for spec in BACKBONES.values() if spec.speed == "fast"]
    out.append(Candidate(BACKBONES[DEFAULT_BACKBONE], LARGER_SIZE))
    return out
