"""Camera-like frames of one product on a cluttered counter, with augmentation.

This module owns the composition of a product sprite (products.py) into an RGB frame the
size of a camera frame (320 x 240 by default): cluttered background and distractor shapes,
rotation, scale, position, lighting (brightness, contrast, colour cast), blur and sensor noise.
Everything is a function of the seed passed in. It must not preprocess frames for the model
(see preprocess.py): it produces what a camera would.
"""

from __future__ import annotations

import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from products import render_product

#: Frame sizes (width, height) drawn; 320 x 240 is the terminal camera's default.
FRAME_SIZES = [(320, 240), (320, 240), (320, 240), (400, 300), (256, 256)]


def _color(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))


def _background(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    """A counter surface: a flat or graded base colour with wood grain, tiles or speckles."""
    w, h = size
    base = np.array(_color(rng), dtype=np.float32)
    other = np.array(_color(rng), dtype=np.float32)
    t = np.linspace(0.0, 1.0, w if rng.random() < 0.5 else h, dtype=np.float32)
    mix = rng.uniform(0.0, 0.6)
    ramp = base[None, :] * (1 - mix * t[:, None]) + other[None, :] * (mix * t[:, None])
    if ramp.shape[0] == w:
        arr = np.broadcast_to(ramp[None, :, :], (h, w, 3))
    else:
        arr = np.broadcast_to(ramp[:, None, :], (h, w, 3))
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(img)
    style = rng.randrange(4)
    if style == 0:  # wood grain
        c = tuple(int(v * 0.8) for v in base)
        for y in range(0, h, rng.randint(4, 10)):
            d.line((0, y + rng.randint(-2, 2), w, y + rng.randint(-3, 3)), fill=c, width=1)
    elif style == 1:  # tiles
        step = rng.randint(30, 80)
        c = _color(rng)
        for x in range(0, w, step):
            d.line((x, 0, x, h), fill=c, width=2)
        for y in range(0, h, step):
            d.line((0, y, w, y), fill=c, width=2)
    elif style == 2:  # speckles
        for _ in range(rng.randint(50, 300)):
            x, y = rng.randrange(w), rng.randrange(h)
            r = rng.randint(1, 3)
            d.ellipse((x, y, x + r, y + r), fill=_color(rng))
    return img


def _clutter(d: ImageDraw.ImageDraw, rng: random.Random, size: tuple[int, int], count: int) -> None:
    """Generic distractor shapes: receipts, cables, boxes, coins, scribbles."""
    w, h = size
    for _ in range(count):
        kind = rng.randrange(5)
        x, y = rng.randrange(-40, w), rng.randrange(-40, h)
        sw, sh = rng.randint(10, 120), rng.randint(10, 120)
        fill = _color(rng)
        if kind == 0:
            d.rectangle((x, y, x + sw, y + sh), fill=fill)
        elif kind == 1:
            d.ellipse((x, y, x + sw // 2, y + sw // 2), fill=fill, outline=_color(rng))
        elif kind == 2:
            d.line((x, y, x + rng.randint(-150, 150), y + rng.randint(-150, 150)), fill=fill, width=rng.randint(2, 8))
        elif kind == 3:  # a receipt: white strip with grey lines
            d.rectangle((x, y, x + 40, y + 110), fill=(245, 245, 240))
            for k in range(8):
                d.line((x + 5, y + 10 + k * 12, x + 35, y + 10 + k * 12), fill=(150, 150, 150), width=1)
        else:
            pts = [(x + rng.randint(0, sw), y + rng.randint(0, sh)) for _ in range(rng.randint(3, 6))]
            d.polygon(pts, fill=fill)


def _place_product(frame: Image.Image, sku: str, rng: random.Random) -> None:
    """Rotate, scale and paste the product near the centre of the frame's centre square."""
    w, h = frame.size
    side = min(w, h)
    sprite = render_product(sku, rng)
    sprite = sprite.rotate(rng.uniform(-35.0, 35.0), resample=Image.BICUBIC, expand=False)
    target = int(side * rng.uniform(0.6, 1.05))
    sprite = sprite.resize((target, target), Image.BILINEAR)
    cx = w // 2 + int(rng.uniform(-0.15, 0.15) * side)
    cy = h // 2 + int(rng.uniform(-0.15, 0.15) * side)
    shadow = Image.new("RGBA", sprite.size, (0, 0, 0, 0))
    alpha = sprite.getchannel("A").point(lambda a: a * 0.35)
    shadow.putalpha(alpha)
    off = int(side * 0.02)
    frame.paste(shadow, (cx - target // 2 + off, cy - target // 2 + off), shadow)
    frame.paste(sprite, (cx - target // 2, cy - target // 2), sprite)


def _light(img: Image.Image, rng: random.Random, np_rng: np.random.Generator) -> Image.Image:
    """Lighting and camera effects: brightness, contrast, colour cast, blur, noise."""
    img = ImageEnhance.Brightness(img).enhance(rng.uniform(0.6, 1.35))
    img = ImageEnhance.Contrast(img).enhance(rng.uniform(0.65, 1.3))
    img = ImageEnhance.Color(img).enhance(rng.uniform(0.7, 1.3))
    blur = rng.choice([0.0, 0.0, 0.5, 1.0, 1.5, 2.0])
    if blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    arr = np.asarray(img, dtype=np.float32)
    cast = np.array([rng.uniform(0.85, 1.15) for _ in range(3)], dtype=np.float32)
    arr = arr * cast[None, None, :]
    sigma = rng.uniform(0.0, 9.0)
    if sigma > 0:
        arr = arr + np_rng.normal(0.0, sigma, arr.shape).astype(np.float32)
    return Image.fromarray(np.clip(arr + 0.5, 0, 255).astype(np.uint8), "RGB")


def render_frame(sku: str, seed: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """Render one camera frame of ``sku`` as an RGB uint8 array (H, W, 3); ``seed`` fixes it."""
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    if size is None:
        size = rng.choice(FRAME_SIZES)
    frame = _background(rng, size)
    d = ImageDraw.Draw(frame)
    _clutter(d, rng, size, rng.randint(2, 10))
    _place_product(frame, sku, rng)
    if rng.random() < 0.4:  # something partly in front (a price tag, a cable)
        _clutter(ImageDraw.Draw(frame), rng, size, 1)
    return np.asarray(_light(frame, rng, np_rng))


