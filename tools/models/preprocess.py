"""Camera frame -> model input for product recognition, exactly as the terminal does it.

This module owns the one definition of the recognition preprocessing that training, holdout
evaluation and golden-vector generation share (the Rust side implements the same steps):

1. center-crop the W x H frame to a square of side S = min(W, H), left = (W - S) // 2,
   top = (H - S) // 2;
2. box-average down to 64 x 64: output pixel (oy, ox) is the mean of the source pixels with
   y in [floor(oy * S / 64), floor((oy + 1) * S / 64)) and x likewise, per channel, computed in
   f32 on byte values (sum of the bytes, divided by the pixel count), then divided by 255.

The result is float32 [1, 64, 64, 3], RGB, row-major (y, x, channel), values in [0, 1].
It must not do any augmentation or normalisation beyond that: what the model sees in training
is what the terminal feeds it.
"""

from __future__ import annotations

import numpy as np

#: Side of the square model input in pixels.
INPUT_SIDE = 64


class FrameTooSmall(ValueError):
    """The frame's shorter side is below 64 pixels, so some output pixel would have no source."""


def box_bounds(side: int) -> np.ndarray:
    """Return the 65 source boundaries floor(i * side / 64) for i = 0..64 (integer arithmetic)."""
    return (np.arange(INPUT_SIDE + 1, dtype=np.int64) * side) // INPUT_SIDE


def preprocess(frame: np.ndarray) -> np.ndarray:
    """Turn an RGB uint8 frame of shape (H, W, 3) into the float32 model input (1, 64, 64, 3)."""
    if frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) RGB frame, got shape {frame.shape}")
    height, width = frame.shape[0], frame.shape[1]
    side = min(width, height)
    if side < INPUT_SIDE:
        raise FrameTooSmall(f"frame {width}x{height} is smaller than {INPUT_SIDE} px")
    left = (width - side) // 2
    top = (height - side) // 2
    crop = frame[top : top + side, left : left + side, :].astype(np.float64)
    bounds = box_bounds(side)
    starts = bounds[:-1]
    counts = np.diff(bounds)
    # Sums of byte values are exact integers in f64 and in f32 (at most a few thousand).
    rows = np.add.reduceat(crop, starts, axis=0)
    sums = np.add.reduceat(rows, starts, axis=1).astype(np.float32)
    area = (counts[:, None] * counts[None, :]).astype(np.float32)
    mean = sums / area[:, :, None]
    out = mean / np.float32(255.0)
    return out.astype(np.float32).reshape(1, INPUT_SIDE, INPUT_SIDE, 3)
