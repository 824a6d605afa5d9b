"""TensorFlow set-up shared by the training scripts: determinism, threads, .tflite conversion.

This module owns how TensorFlow is made reproducible (one seed for Python, NumPy and TF, op
determinism, a fixed small thread count) and how a Keras model becomes a float32 .tflite with
builtin ops only and a batch size of 1. It must not define models or data.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def configure(seed: int, threads: int = 2) -> None:
    """Seed every random source, make ops deterministic and cap TensorFlow's threads."""
    random.seed(seed)
    np.random.seed(seed)
    tf.random.set_seed(seed)
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)


def to_tflite(model: tf.keras.Model, input_shape: list[int], path: Path) -> bytes:
    """Convert ``model`` (built with batch size 1) to a float32, builtin-ops-only .tflite."""
    if list(model.input_shape) != list(input_shape):
        raise ValueError(f"model input {model.input_shape} is not {input_shape}")
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    converter.optimizations = []
    flat = converter.convert()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(flat)
    return flat
