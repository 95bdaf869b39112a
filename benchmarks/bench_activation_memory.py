"""The activation memory of every backbone, for the memory estimate that refuses runs that cannot fit
(core/training/memory.py's ACTIVATIONS_MB), and a measurement that checks the estimate's factors.

    python benchmarks/bench_activation_memory.py table                          # every backbone: the table
    python benchmarks/bench_activation_memory.py measure MobileNetV2 448 16 infer   # peak memory of one pass
    python benchmarks/bench_activation_memory.py measure ResNet50 224 8 train

``table`` builds each Keras application without weights at its own input size and sums the output shapes of
its layers (float32, per image): the total is what a training step keeps for the backward pass, the largest
single output bounds a forward pass. ``measure`` runs one compiled forward pass (as feature extraction does) or
one whole-network training step in this process and prints the peak resident memory above the process's own
after a batch of one (measured on 2 CPUs: MobileNetV2 448 px batch 16 forward 936 MB, 3.1× the largest output per
image; ResNet50 224 px batch 16 forward 136 MB, 2.7×; training steps at 224 px: MobileNetV2 batch 16 1095 MB,
0.82× the summed outputs; ResNet50 batch 8 835 MB, 0.74×).
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def table() -> None:
    import keras
    import numpy as np

    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import BACKBONES

    for name, spec in BACKBONES.items():
        model = build_backbone(spec, spec.input_size, None)
        sizes = []
        for layer in model.layers:
            outputs = layer.output if isinstance(layer.output, list | tuple) else [layer.output]
            sizes.append(sum(int(np.prod(o.shape[1:])) for o in outputs))
        print(f'"{name}": ({sum(sizes) * 4 / 2**20:.1f}, {max(sizes) * 4 / 2**20:.2f}),', flush=True)
        keras.backend.clear_session()


def measure(name: str, size: int, batch: int, mode: str) -> None:
    import keras
    import numpy as np
    import tensorflow as tf

    from foveal.core.models.build import build_backbone
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.forward import forward_fn

    def peak_mb() -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    spec = get_backbone(name)
    model = build_backbone(spec, size, None)
    if mode == "infer":
        forward = forward_fn(model, spec, size)
        forward(np.zeros((1, size, size, 3), np.uint8))
        base = peak_mb()
        forward(np.zeros((batch, size, size, 3), np.uint8))
    else:
        optimizer = keras.optimizers.Adam()

        @tf.function
        def step(x):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

        step(tf.zeros((1, size, size, 3)))
        base = peak_mb()
        step(tf.zeros((batch, size, size, 3)))
    print(f"{name} {size} px, batch {batch}, {mode}: peak {peak_mb() - base:.0f} MB above {base:.0f} MB")


if __name__ == "__main__":
    if sys.argv[1:2] == ["table"]:
        table()
    elif sys.argv[1:2] == ["measure"] and len(sys.argv) == 6:
        measure(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    else:
        print(__doc__)
