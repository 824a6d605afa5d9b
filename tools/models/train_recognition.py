#!/usr/bin/env python3
"""Train the product-recognition model and write models/product-recognition/.

Renders synthetic camera frames of the 17 demo SKUs (products.py, scene.py), preprocesses them
exactly as the terminal does (preprocess.py), trains a small float32 CNN, converts it to
.tflite, evaluates it on a held-out set rendered from a different seed through the real
TFLite 2.6 C library (tflite26.py), and writes the model directory: model.tflite, manifest.toml,
golden vectors and one held-out frame per SKU.

Usage: tools/models/train_recognition.py --seed 7 --out models/product-recognition
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import tfsetup  # noqa: E402  (sets TF logging before TensorFlow loads)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from PIL import Image  # noqa: E402

from manifest import Golden, Manifest, write_f32, write_manifest  # noqa: E402
from preprocess import preprocess  # noqa: E402
from products import SKUS  # noqa: E402
from scene import render_frame  # noqa: E402
from tflite26 import Interpreter, time_invoke  # noqa: E402

#: Offset added to the training seed for the held-out set, so the two never share a frame.
HOLDOUT_SEED_OFFSET = 1_000_003
VERSION = "1.0.0"


def render_set(seed: int, per_class: int) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Render ``per_class`` frames of every SKU; return inputs, labels and the raw frames."""
    xs, ys, frames = [], [], []
    for i in range(per_class):
        for label, sku in enumerate(SKUS):
            frame = render_frame(sku, seed * 10_000_000 + i * len(SKUS) + label)
            frames.append(frame)
            xs.append(preprocess(frame)[0])
            ys.append(label)
    return np.stack(xs), np.array(ys, dtype=np.int32), frames


def build_model(batch_size: int | None = None) -> tf.keras.Model:
    """A small CNN: four conv blocks (3x3, batch norm, ReLU, max pool), global pooling, softmax."""
    L = tf.keras.layers
    inputs = tf.keras.Input((64, 64, 3), batch_size=batch_size)
    x = inputs
    for filters in (24, 32, 64, 96):
        x = L.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = L.BatchNormalization()(x)
        x = L.ReLU()(x)
        if filters != 96:
            x = L.MaxPooling2D()(x)
    x = L.GlobalAveragePooling2D()(x)
    x = L.Dropout(0.25)(x)
    x = L.Dense(len(SKUS))(x)
    outputs = L.Softmax()(x)
    return tf.keras.Model(inputs, outputs, name="product_recognition")


def pick_accept(conf: np.ndarray, correct: np.ndarray) -> float:
    """Lowest threshold in 0.60..0.90 where accepted top-1 answers are >= 99% right (else 0.9)."""
    for t in np.arange(0.60, 0.901, 0.05):
        accepted = conf >= t
        if accepted.any() and correct[accepted].mean() >= 0.99:
            return round(float(t), 2)
    return 0.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("models/product-recognition"))
    parser.add_argument("--per-class", type=int, default=500, help="training frames per SKU")
    parser.add_argument("--holdout-per-class", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--lib", default=None, help="libtensorflowlite_c.so (TFLite 2.6)")
    args = parser.parse_args()
    tfsetup.configure(args.seed, args.threads)
    started = time.time()

    x_train, y_train, _ = render_set(args.seed, args.per_class)
    x_hold, y_hold, hold_frames = render_set(args.seed + HOLDOUT_SEED_OFFSET, args.holdout_per_class)
    print(f"rendered {len(x_train)} training and {len(x_hold)} held-out frames in {time.time() - started:.0f} s")

    model = build_model()
    steps = args.epochs * int(np.ceil(len(x_train) / 64))
    schedule = tf.keras.optimizers.schedules.CosineDecay(3e-3, steps, alpha=0.02)
    model.compile(
        optimizer=tf.keras.optimizers.Adam(schedule),
        loss=tf.keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, shuffle=True, verbose=2)

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    deploy = build_model(batch_size=1)
    deploy.set_weights(model.get_weights())
    tfsetup.to_tflite(deploy, [1, 64, 64, 3], out / "model.tflite")

    # Held-out evaluation through the real TFLite 2.6 library, the one the terminal runs.
    interp = Interpreter(out / "model.tflite", args.lib, threads=1)
    probs = np.stack([interp.run(x[None])[0] for x in x_hold])
    keras_probs = model.predict(x_hold, batch_size=128, verbose=0)
    drift = float(np.abs(probs - keras_probs).max())
    pred = probs.argmax(axis=1)
    conf = probs.max(axis=1)
    correct = pred == y_hold
    accuracy = float(correct.mean())
    accept = pick_accept(conf, correct)
    accepted = conf >= accept
    median_ms, worst_ms = time_invoke(interp, x_hold[:1], runs=50)
    per_class = {sku: float(correct[y_hold == i].mean()) for i, sku in enumerate(SKUS)}
    print(f"held-out accuracy {accuracy:.4f} on {len(y_hold)} frames (TFLite {interp.version}); keras vs tflite max diff {drift:.2e}")
    print("per SKU: " + ", ".join(f"{k} {v:.2f}" for k, v in per_class.items()))
    print(
        f"accept = {accept}: {accepted.mean():.3f} of frames accepted, "
        f"{correct[accepted].mean() if accepted.any() else 0.0:.4f} of those right; below it the top 3 hold the answer in "
        f"{np.mean([y in np.argsort(-p)[:3] for p, y in zip(probs[~accepted], y_hold[~accepted])]) if (~accepted).any() else 1.0:.3f}"
    )
    print(f"invoke latency on 1 thread: median {median_ms:.2f} ms, max {worst_ms:.2f} ms")

    # Golden pairs: held-out frames, outputs straight from the TFLite 2.6 library.
    golden_dir = out / "golden"
    shutil.rmtree(golden_dir, ignore_errors=True)
    goldens = []
    for n, idx in enumerate([0, 5, 11, 16 + len(SKUS)]):
        write_f32(golden_dir / f"{n:02}.in.f32", x_hold[idx])
        write_f32(golden_dir / f"{n:02}.out.f32", interp.run(x_hold[idx][None]))
        goldens.append(Golden(f"golden/{n:02}.in.f32", f"golden/{n:02}.out.f32"))

    # One held-out 320x240 frame per SKU that the model gets right above `accept`.
    hold_dir = out / "holdout"
    shutil.rmtree(hold_dir, ignore_errors=True)
    hold_dir.mkdir()
    label_lines = ["# Held-out camera frames (never trained on): file name = SKU it shows.", ""]
    for label, sku in enumerate(SKUS):
        candidates = [
            i
            for i in range(len(y_hold))
            if y_hold[i] == label and hold_frames[i].shape[:2] == (240, 320) and correct[i] and accepted[i]
        ]
        if not candidates:
            raise SystemExit(f"no 320x240 held-out frame of {sku} is recognised above accept = {accept}")
        pick = candidates[0]
        Image.fromarray(hold_frames[pick], "RGB").save(hold_dir / f"{sku}.png")
        label_lines.append(f'"{sku}.png" = "{sku}"')
    (hold_dir / "labels.toml").write_text("\n".join(label_lines) + "\n")

    extra = "" if args.per_class == 500 and args.epochs == 25 else f" --per-class {args.per_class} --epochs {args.epochs}"
    manifest = Manifest(
        name="product-recognition",
        kind="recognition",
        version=VERSION,
        description=(
            "Camera frame -> one of the 17 demo catalog products. Small CNN on the 64x64 "
            "center-crop box-average of the frame; softmax over the SKUs in label order."
        ),
        trained_by=f"tools/models/train_recognition.py --seed {args.seed}{extra}",
        input_shape=[1, 64, 64, 3],
        output_shape=[1, len(SKUS)],
        labels=SKUS,
        thresholds={"accept": accept},
        metrics={
            "heldout_accuracy": round(accuracy, 4),
            "heldout_samples": int(len(y_hold)),
            "heldout_accepted_share": round(float(accepted.mean()), 4),
            "heldout_accepted_precision": round(float(correct[accepted].mean()), 4),
        },
        golden=goldens,
    )
    write_manifest(out, manifest)
    size_kb = (out / "model.tflite").stat().st_size / 1024
    print(f"wrote {out} (model.tflite {size_kb:.0f} KiB) in {time.time() - started:.0f} s total")


if __name__ == "__main__":
    main()
