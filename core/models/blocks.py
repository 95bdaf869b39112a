"""Where a backbone can be cut into "blocks" a user can unfreeze from the top.

A *cut point* is a layer after which the whole rest of the network depends on that layer's single output: the
end of a VGG block, a ResNet stage, an Inception module, an EfficientNet stage. Each backbone's registry entry
names its blocks with a regex; a block ends at the last cut point that belongs to it. Layers after the last
block end (a final convolution or normalisation) join the last block; layers before the first end (the stem)
join the first.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class Block:
    """One unfreezable unit: its name and the index range of its layers in ``model.layers``."""

    name: str
    first: int
    last: int


def cut_points(model) -> list[int]:
    """Indices into ``model.layers`` of layers whose single output carries everything that follows."""
    layers = model.layers
    uses: Counter[int] = Counter()
    for layer in layers:
        for node in layer._inbound_nodes:  # noqa: SLF001 - Keras offers no public view of a layer's calls
            for t in node.input_tensors:
                uses[id(t)] += 1
    for t in model.outputs:
        uses[id(t)] += 1
    live: dict[int, int] = {}
    out: list[int] = []
    for i, layer in enumerate(layers):
        produced: list[int] = []
        for node in layer._inbound_nodes:  # noqa: SLF001 - Keras offers no public view of a layer's calls
            for t in node.input_tensors:
                key = id(t)
                if key in live:
                    live[key] -= 1
                    if live[key] == 0:
                        del live[key]
            for t in node.output_tensors:
                if uses[id(t)]:
                    live[id(t)] = uses[id(t)]
                    produced.append(id(t))
        if len(live) == 1 and len(produced) == 1 and produced[0] in live:
            out.append(i)
    return out


def find_blocks(model, pattern: str) -> list[Block]:
    """Split a backbone's layers into blocks, bottom to top, using its registry pattern."""
    regex = re.compile(pattern)
    layers = model.layers
    current = None
    label_at: list[str | None] = []
    for layer in layers:
        m = regex.search(layer.name)
        if m:
            current = m.group("b")
        label_at.append(current)
    ends: dict[str, int] = {}
    for i in cut_points(model):
        label = label_at[i]
        if label is not None:
            ends[label] = i
    ordered = sorted(ends.items(), key=lambda kv: kv[1])
    blocks: list[Block] = []
    first = 0
    for name, end in ordered:
        if end >= first:
            blocks.append(Block(name, first, end))
            first = end + 1
    if len(blocks) < 2:
        blocks = _blocks_by_label(label_at)
    if blocks and first < len(layers):
        last = blocks[-1]
        blocks[-1] = Block(last.name, last.first, len(layers) - 1)
    if not blocks:
        blocks = [Block("all", 0, len(layers) - 1)]
    return blocks


def _blocks_by_label(label_at: list[str | None]) -> list[Block]:
    """For networks whose cells take two earlier outputs (NASNet): a block starts where a new label first shows."""
    starts: list[tuple[str, int]] = []
    seen: set[str] = set()
    for i, label in enumerate(label_at):
        if label is not None and label not in seen:
            seen.add(label)
            starts.append((label, i))
    if not starts:
        return []
    starts[0] = (starts[0][0], 0)
    bounds = [i for _, i in starts[1:]] + [len(label_at)]
    return [Block(name, first, nxt - 1) for (name, first), nxt in zip(starts, bounds, strict=True)]
