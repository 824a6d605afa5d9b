#!/usr/bin/env python3
"""Build the fallback-test fixtures in models/testdata/: a NaN model and a slow model.

Both are real loss-prevention-shaped models, float32 [1, 8] -> [1, 3], with a manifest in the
shipped schema, verified through the real TFLite 2.6 C library:

* ``nan/``: its output is NaN for every input (log of a number that is always negative), for
  the NaN fallback test;
* ``slow/``: deliberately heavy (the 8 features tiled onto a 256 x 256 map and run through a
  stack of 3x3 convolutions), taking well over 200 ms per invoke on one or two threads, for the timeout
  test. Its weights are small, so the file stays tiny.

This script owns only these fixtures; it must not touch the shipped models.

Usage: tools/models/make_testdata.py --out models/testdata
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tfsetup  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from lp_simulation import REASONS  # noqa: E402
from manifest import Golden, Manifest, write_f32, write_manifest  # noqa: E402
from tflite26 import Interpreter, time_invoke  # noqa: E402

#: Spatial side the slow model tiles its features onto.
SLOW_SIDE = 256
#: 3x3 convolutions in the slow model.
SLOW_LAYERS = 12
#: The slow model must take at least this long per invoke, on one thread and on two.
SLOW_MIN_MS = 200.0


def nan_model() -> tf.keras.Model:
    """Dense 8 -> 3, then log(-1 - y^2): the argument is always negative, so the output is NaN."""
    L = tf.keras.layers
    inputs = tf.keras.Input((8,), batch_size=1)
    y = L.Dense(3)(inputs)
    outputs = L.Lambda(lambda t: tf.math.log(-1.0 - tf.square(t)))(y)
    return tf.keras.Model(inputs, outputs, name="nan_fixture")


def slow_model() -> tf.keras.Model:
    """Features tiled to SLOW_SIDE^2 x 8, SLOW_LAYERS conv 3x3 x 32, global pooling, sigmoid x 3."""
    L = tf.keras.layers
    inputs = tf.keras.Input((8,), batch_size=1)
    x = L.Lambda(lambda t: tf.tile(tf.reshape(t, [1, 1, 1, 8]), [1, SLOW_SIDE, SLOW_SIDE, 1]))(inputs)
    for _ in range(SLOW_LAYERS):
        x = L.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = L.GlobalAveragePooling2D()(x)
    outputs = L.Dense(len(REASONS), activation="sigmoid")(x)
    return tf.keras.Model(inputs, outputs, name="slow_fixture")


def write_fixture(out: Path, name: str, model: tf.keras.Model, description: str, lib: str | None) -> np.ndarray:
    """Convert ``model`` into ``out/name`` with a manifest and one golden pair; return its output."""
    model_dir = out / name
    shutil.rmtree(model_dir, ignore_errors=True)
    tfsetup.to_tflite(model, [1, 8], model_dir / "model.tflite")
    x = np.array([[0.2, 0.0625, 0.0625, 0.0, 0.02, 0.18, -0.5, -0.866025]], dtype=np.float32)
    with Interpreter(model_dir / "model.tflite", lib, threads=1) as interp:
        y = interp.run(x)
    if name == "slow":
        for threads in (1, 2):
            with Interpreter(model_dir / "model.tflite", lib, threads=threads) as interp:
                median_ms, _ = time_invoke(interp, x, runs=3)
            print(f"slow: invoke median {median_ms:.0f} ms on {threads} thread(s)")
            if median_ms < SLOW_MIN_MS:
                raise SystemExit(f"slow fixture takes only {median_ms:.0f} ms per invoke on {threads} thread(s)")
    write_f32(model_dir / "golden" / "00.in.f32", x)
    write_f32(model_dir / "golden" / "00.out.f32", y)
    write_manifest(
        model_dir,
        Manifest(
            name=f"testdata-{name}",
            kind="loss-prevention",
            version="0.0.1",
            description=description,
            trained_by="tools/models/make_testdata.py --seed 7 (test fixture, not trained)",
            input_shape=[1, 8],
            output_shape=[1, len(REASONS)],
            labels=REASONS,
            thresholds={"review": 0.5, "high": 0.8},
            metrics={"heldout_samples": 0},
            golden=[Golden("golden/00.in.f32", "golden/00.out.f32")],
        ),
    )
    size_kb = (model_dir / "model.tflite").stat().st_size / 1024
    print(f"{name}: output {y.reshape(-1)} ({size_kb:.0f} KiB)")
    return y


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("models/testdata"))
    parser.add_argument("--lib", default=None, help="libtensorflowlite_c.so (TFLite 2.6)")
    args = parser.parse_args()
    tfsetup.configure(args.seed, threads=1)
    y = write_fixture(
        args.out,
        "nan",
        nan_model(),
        "Test fixture: a real [1,8] -> [1,3] model whose output is NaN for every input (log of a negative number).",
        args.lib,
    )
    if not np.isnan(y).all():
        raise SystemExit("nan fixture does not output NaN")
    write_fixture(
        args.out,
        "slow",
        slow_model(),
        f"Test fixture: a real [1,8] -> [1,3] model made slow on purpose (>= {SLOW_MIN_MS:.0f} ms per invoke on one core).",
        args.lib,
    )


if __name__ == "__main__":
    main()
