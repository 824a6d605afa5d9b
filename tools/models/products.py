"""Synthetic product packaging for the 17 demo catalog SKUs, drawn with Pillow.

This module owns the look of each product: one function per SKU draws its packaging (shape,
colours, the product name) onto a transparent 256 x 256 sprite. Small per-instance variations
(label placement, number of fruits, wrinkles) come from the ``random.Random`` passed in, so a
seed fixes every sprite. It must not compose camera frames or augment them (see scene.py).
"""

from __future__ import annotations

import math
import random
from typing import Callable

from PIL import Image, ImageDraw, ImageFont

#: The SKUs in model output order (the interface fixes this order).
SKUS = [
    "CHOC-100",
    "MILK-1L",
    "BREAD-RYE",
    "COFFEE-500",
    "WATER-15",
    "SOAP-BAR",
    "BATT-AA4",
    "BANANA",
    "APPLE",
    "CHEESE-GOUDA",
    "BAKERY-BAG",
    "ESPRESSO",
    "CAPPUCCINO",
    "TEA",
    "SANDWICH",
    "SOUP",
    "CROISSANT",
]

#: Display names of the SKUs, as in the demo catalog.
NAMES = {
    "CHOC-100": "Dark Chocolate 100g",
    "MILK-1L": "Whole Milk 1L",
    "BREAD-RYE": "Rye Bread 750g",
    "COFFEE-500": "Coffee Beans 500g",
    "WATER-15": "Sparkling Water 1.5L",
    "SOAP-BAR": "Olive Soap",
    "BATT-AA4": "AA Batteries x4",
    "BANANA": "Bananas per kg",
    "APPLE": "Apples per kg",
    "CHEESE-GOUDA": "Gouda per kg",
    "BAKERY-BAG": "Bakery Bag",
    "ESPRESSO": "Espresso",
    "CAPPUCCINO": "Cappuccino",
    "TEA": "Black Tea",
    "SANDWICH": "Toasted Sandwich",
    "SOUP": "Soup of the Day",
    "CROISSANT": "Butter Croissant",
}

#: Side of the square transparent sprite each product is drawn on.
SPRITE = 256

_FONTS: dict[int, ImageFont.FreeTypeFont] = {}


def font(size: int) -> ImageFont.FreeTypeFont:
    """Pillow's bundled scalable font at ``size`` px (bundled, so rendering is reproducible)."""
    if size not in _FONTS:
        _FONTS[size] = ImageFont.load_default(size=size)
    return _FONTS[size]


def _text(d: ImageDraw.ImageDraw, xy, text: str, size: int, fill, anchor="mm") -> None:
    d.text(xy, text, font=font(size), fill=fill, anchor=anchor)


def _jit(rng: random.Random, rgb, amount: int = 12):
    return tuple(max(0, min(255, c + rng.randint(-amount, amount))) for c in rgb)


def draw_chocolate(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A flat wide bar: dark brown wrapper, gold band, 'DARK 100g', a cocoa-square pattern."""
    d.rounded_rectangle((20, 78, 236, 178), 8, fill=_jit(rng, (70, 38, 22)), outline=(35, 18, 10), width=3)
    for i in range(6):
        x = 30 + i * 34
        d.rectangle((x, 86, x + 26, 104), outline=(110, 66, 40), width=2)
    d.rectangle((20, 118, 236, 140), fill=_jit(rng, (212, 175, 55)))
    _text(d, (128, 129), "DARK 100g", 20, (60, 30, 15))
    _text(d, (128, 160), "CHOCOLATE", 18, (230, 200, 150))


def draw_milk(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A white gable-top carton with a blue cap, blue band and 'MILK 1L'."""
    d.polygon([(80, 60), (128, 30), (176, 60)], fill=(235, 235, 240), outline=(160, 160, 170))
    d.rectangle((80, 60, 176, 230), fill=(245, 245, 250), outline=(160, 160, 170), width=2)
    d.rectangle((114, 20, 142, 36), fill=_jit(rng, (30, 90, 200)))
    d.rectangle((80, 150, 176, 200), fill=_jit(rng, (40, 110, 220)))
    for _ in range(3):
        x, y = rng.randint(90, 150), rng.randint(75, 120)
        d.ellipse((x, y, x + 22, y + 14), fill=(20, 20, 20))
    _text(d, (128, 175), "MILK", 24, (255, 255, 255))
    _text(d, (128, 215), "1L", 18, (30, 80, 180))


def draw_bread(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A dark rye loaf: a long oval with diagonal scores and a paper label 'RYE'."""
    d.ellipse((20, 70, 236, 190), fill=_jit(rng, (96, 62, 38)), outline=(60, 38, 22), width=3)
    for i in range(4):
        x = 60 + i * 40
        d.line((x, 95, x + 30, 165), fill=(150, 110, 75), width=5)
    d.rectangle((98, 115, 158, 145), fill=(240, 230, 205))
    _text(d, (128, 130), "RYE", 20, (120, 40, 30))


def draw_coffee(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A black stand-up bag with a red label, a coffee bean and 'COFFEE 500g'."""
    d.polygon([(60, 40), (196, 40), (206, 230), (50, 230)], fill=_jit(rng, (25, 25, 28)))
    d.rectangle((60, 30, 196, 46), fill=(50, 50, 55))
    d.rectangle((70, 110, 186, 190), fill=_jit(rng, (190, 30, 35)))
    d.ellipse((108, 62, 148, 102), fill=(110, 60, 30))
    d.line((118, 70, 138, 95), fill=(60, 30, 15), width=4)
    _text(d, (128, 135), "COFFEE", 22, (255, 235, 200))
    _text(d, (128, 168), "500g", 18, (255, 235, 200))


def draw_water(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A tall light-blue PET bottle, green cap, a green label 'SPARKLING' and bubbles."""
    body = _jit(rng, (170, 215, 240))
    d.rectangle((112, 8, 144, 30), fill=_jit(rng, (20, 140, 60)))
    d.polygon([(112, 30), (144, 30), (168, 70), (88, 70)], fill=body)
    d.rounded_rectangle((88, 70, 168, 248), 14, fill=body, outline=(120, 170, 210), width=2)
    d.rectangle((88, 120, 168, 175), fill=_jit(rng, (30, 160, 80)))
    _text(d, (128, 140), "SPARKLING", 14, (255, 255, 255))
    _text(d, (128, 162), "1.5L", 14, (255, 255, 255))
    for _ in range(10):
        x, y = rng.randint(96, 158), rng.randint(185, 240)
        d.ellipse((x, y, x + 5, y + 5), outline=(255, 255, 255))


def draw_soap(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """An olive-green rounded bar with an embossed leaf and 'OLIVE'."""
    d.rounded_rectangle((40, 80, 216, 176), 40, fill=_jit(rng, (128, 140, 60)), outline=(90, 100, 40), width=3)
    d.ellipse((70, 100, 110, 150), fill=(150, 165, 80), outline=(95, 105, 45), width=2)
    d.line((75, 145, 105, 105), fill=(95, 105, 45), width=2)
    _text(d, (160, 128), "OLIVE", 22, (240, 240, 210))


def draw_batteries(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A blister card: orange top, black bottom, four copper-topped AA cells, 'AA x4'."""
    d.rectangle((50, 30, 206, 230), fill=_jit(rng, (240, 130, 20)))
    d.rectangle((50, 150, 206, 230), fill=(20, 20, 20))
    for i in range(4):
        x = 66 + i * 32
        d.rectangle((x, 60, x + 24, 200), fill=(30, 30, 30), outline=(200, 200, 200), width=2)
        d.rectangle((x, 60, x + 24, 80), fill=(190, 120, 50))
    _text(d, (128, 45), "AA x4", 18, (20, 20, 20))
    _text(d, (128, 215), "POWER", 16, (240, 130, 20))


def draw_banana(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A bunch of three to five curved yellow bananas with brown tips."""
    n = rng.randint(3, 5)
    for i in range(n):
        off = (i - n / 2) * 14
        box = (20 + off, 40 + off, 236 + off, 220 + off)
        d.arc(box, 20, 160, fill=_jit(rng, (245, 215, 40), 10), width=26)
    d.rectangle((118, 200, 140, 226), fill=(110, 80, 30))


def draw_apple(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """One to three red apples with highlights, stems and leaves."""
    n = rng.randint(1, 3)
    spots = [(128, 128)] if n == 1 else [(88, 140), (168, 140), (128, 80)][:n]
    r = 70 if n == 1 else 48
    for cx, cy in spots:
        red = _jit(rng, (200, 25, 30), 20)
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=red, outline=(120, 10, 15), width=2)
        d.ellipse((cx - r // 2, cy - r // 2, cx - r // 5, cy - r // 5), fill=(240, 120, 120))
        d.line((cx, cy - r, cx + 4, cy - r - 18), fill=(90, 60, 20), width=4)
        d.ellipse((cx + 6, cy - r - 22, cx + 30, cy - r - 8), fill=(60, 150, 40))


def draw_gouda(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A wedge of yellow gouda with a red wax rind and a few holes."""
    d.polygon([(30, 190), (226, 190), (200, 70)], fill=_jit(rng, (250, 205, 70)))
    d.line((30, 190, 200, 70), fill=(200, 30, 30), width=10)
    d.line((30, 195, 226, 195), fill=(200, 30, 30), width=12)
    for _ in range(4):
        x, y = rng.randint(110, 190), rng.randint(130, 175)
        d.ellipse((x, y, x + 12, y + 9), fill=(225, 175, 50))
    _text(d, (120, 218), "GOUDA", 18, (200, 30, 30))


def draw_bakery_bag(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A kraft paper bag with a folded top, a window and 'BAKERY'."""
    kraft = _jit(rng, (196, 160, 110))
    d.rectangle((60, 50, 196, 236), fill=kraft, outline=(150, 115, 70), width=2)
    for i in range(5):
        x = 60 + i * 34
        d.polygon([(x, 50), (x + 17, 32), (x + 34, 50)], fill=kraft)
    d.rounded_rectangle((90, 80, 166, 140), 10, fill=(235, 225, 200), outline=(150, 115, 70))
    _text(d, (128, 175), "BAKERY", 22, (90, 55, 25))
    d.line((70, 205, 186, 205), fill=(150, 115, 70), width=2)


def _saucer(d: ImageDraw.ImageDraw, y: int, half: int) -> None:
    d.ellipse((128 - half, y - 14, 128 + half, y + 14), fill=(245, 245, 245), outline=(180, 180, 180), width=2)


def draw_espresso(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A small white demitasse on a saucer, side view, dark crema at the rim, 'ESPRESSO' below."""
    _saucer(d, 180, 80)
    d.rounded_rectangle((92, 112, 164, 180), 18, fill=(250, 250, 250), outline=(170, 170, 170), width=2)
    d.arc((156, 122, 184, 156), -90, 90, fill=(250, 250, 250), width=7)
    d.ellipse((92, 104, 164, 122), fill=_jit(rng, (120, 70, 35)), outline=(170, 170, 170))
    _text(d, (128, 218), "ESPRESSO", 18, (60, 35, 20))


def draw_cappuccino(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A big cup from above: white rim, light foam with a brown ring and a latte-art heart."""
    d.ellipse((22, 22, 234, 234), fill=(250, 250, 250), outline=(180, 180, 180), width=3)
    d.ellipse((44, 44, 212, 212), fill=_jit(rng, (160, 110, 70)))
    d.ellipse((62, 62, 194, 194), fill=_jit(rng, (235, 215, 185), 8))
    d.polygon([(128, 165), (96, 120), (160, 120)], fill=(170, 120, 80))
    d.ellipse((94, 100, 130, 134), fill=(170, 120, 80))
    d.ellipse((126, 100, 162, 134), fill=(170, 120, 80))


def draw_tea(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A glass mug of amber tea, side view, with a tea-bag string and a white 'TEA' tag."""
    d.rectangle((70, 60, 180, 220), fill=(225, 235, 240), outline=(150, 160, 170), width=3)
    d.rectangle((74, 90, 176, 216), fill=_jit(rng, (170, 70, 20), 15))
    d.arc((166, 100, 226, 180), -90, 90, fill=(150, 160, 170), width=8)
    d.line((100, 60, 60, 150), fill=(240, 240, 240), width=2)
    d.rectangle((36, 150, 84, 190), fill=(250, 250, 250), outline=(120, 120, 120))
    _text(d, (60, 170), "TEA", 16, (30, 90, 40))


def draw_sandwich(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """Two toasted triangle halves showing green lettuce, red tomato and yellow cheese."""
    toast = _jit(rng, (200, 150, 80))
    for dx, flip in ((0, False), (20, True)):
        if not flip:
            pts = [(30, 200), (130, 200), (30, 60)]
        else:
            pts = [(126 + dx, 60), (226 + dx, 60), (226 + dx, 200)]
        d.polygon(pts, fill=toast, outline=(130, 85, 35))
    d.line((34, 194, 124, 194), fill=(70, 170, 50), width=8)
    d.line((34, 184, 118, 184), fill=(210, 40, 40), width=6)
    d.line((152, 66, 240, 66), fill=(70, 170, 50), width=8)
    d.line((158, 76, 240, 76), fill=(250, 210, 60), width=6)
    for _ in range(8):
        x, y = rng.randint(40, 220), rng.randint(90, 170)
        d.point((x, y), fill=(120, 70, 25))


def draw_soup(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A bowl from above: blue rim, orange soup with cream swirl and herbs, a spoon."""
    d.ellipse((28, 28, 228, 228), fill=_jit(rng, (40, 80, 160)), outline=(20, 40, 90), width=3)
    d.ellipse((50, 50, 206, 206), fill=_jit(rng, (230, 120, 30)))
    d.arc((90, 90, 166, 166), 0, 270, fill=(250, 235, 210), width=6)
    for _ in range(7):
        x, y = rng.randint(70, 180), rng.randint(70, 180)
        d.ellipse((x, y, x + 6, y + 6), fill=(40, 120, 30))
    d.line((190, 190, 250, 250), fill=(200, 200, 205), width=10)


def draw_croissant(d: ImageDraw.ImageDraw, rng: random.Random) -> None:
    """A golden crescent built from overlapping lobes with darker ridges."""
    gold = _jit(rng, (225, 160, 60))
    for i in range(7):
        a = math.pi * (0.15 + 0.7 * i / 6)
        cx = 128 + 85 * math.cos(a)
        cy = 200 - 100 * math.sin(a)
        r = 30 if i in (0, 6) else 40 if i in (1, 5) else 48
        d.ellipse((cx - r, cy - r * 0.8, cx + r, cy + r * 0.8), fill=gold, outline=(160, 95, 30), width=3)
    d.arc((60, 90, 196, 200), 200, 340, fill=(170, 100, 35), width=4)


#: The drawing function of every SKU.
DRAWERS: dict[str, Callable[[ImageDraw.ImageDraw, random.Random], None]] = {
    "CHOC-100": draw_chocolate,
    "MILK-1L": draw_milk,
    "BREAD-RYE": draw_bread,
    "COFFEE-500": draw_coffee,
    "WATER-15": draw_water,
    "SOAP-BAR": draw_soap,
    "BATT-AA4": draw_batteries,
    "BANANA": draw_banana,
    "APPLE": draw_apple,
    "CHEESE-GOUDA": draw_gouda,
    "BAKERY-BAG": draw_bakery_bag,
    "ESPRESSO": draw_espresso,
    "CAPPUCCINO": draw_cappuccino,
    "TEA": draw_tea,
    "SANDWICH": draw_sandwich,
    "SOUP": draw_soup,
    "CROISSANT": draw_croissant,
}


def render_product(sku: str, rng: random.Random) -> Image.Image:
    """Draw ``sku`` on a transparent RGBA sprite of SPRITE x SPRITE pixels."""
    sprite = Image.new("RGBA", (SPRITE, SPRITE), (0, 0, 0, 0))
    DRAWERS[sku](ImageDraw.Draw(sprite), rng)
    return sprite
