"""Train twice in one process whose CPU is split into two logical devices: MirroredStrategy over both, then one
device with the same global batch and learning rate. Prints one JSON line with both runs' histories."""

import json
import sys

import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from foveal.core.training import TrainConfig, train  # noqa: E402

data, out = sys.argv[1], sys.argv[2]
# VGG16 has no BatchNormalization, whose batch statistics are per replica: the whole network learns from
# scratch (one head epoch, then every layer learning), so gradients of every layer are all-reduced. One batch
# holds the whole training split, so the order in which batches are shuffled cannot make the two runs differ.
common = dict(backbone="VGG16", weights="none", image_size=32, epochs=1, fine_tune="all", fine_tune_epochs=7,
              fine_tune_lr_factor=1.0, dropout=0.0, seed=7, early_stopping_patience=0, class_weights="none",
              xla="off")  # the same compiled steps on both sides: XLA fuses differently than plain TF
runs = {}
for name, kw in {"mirrored": dict(distribute="mirrored", batch_size=32, learning_rate=2e-4),
                 "one": dict(distribute="none", batch_size=64, learning_rate=4e-4)}.items():
    result = train(TrainConfig(data, out_dir=f"{out}/{name}", **common, **kw))
    runs[name] = {"history": result.history, "run_dir": result.run_dir, "test_accuracy": result.test_accuracy}
print("RESULT " + json.dumps(runs))
