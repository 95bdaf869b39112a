"""Backbone registry, fine-tune depth, and building the classifier Foveal trains and saves."""

from foveal.core.models.registry import BACKBONES, DEFAULT_BACKBONE, BackboneSpec, get_backbone

__all__ = ["BACKBONES", "DEFAULT_BACKBONE", "BackboneSpec", "get_backbone"]
