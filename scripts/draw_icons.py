"""Draw the skill's store icons: a crescent moon and a few stars on a deep night sky.

Alexa wants a 108 x 108 and a 512 x 512 PNG (smallIconUri, largeIconUri); the skill package carries
them as interaction_model/assets/images/en-US_*Icon.png, referenced from skill.json as file://assets/...
Both are drawn here, at four times their size and scaled down so edges are smooth; the shapes sit
inside the centre circle, since the Alexa app shows icons cropped to a circle. Run `make icons` after
changing the drawing; a test checks the committed files are what this draws.
"""
from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "interaction_model" / "assets" / "images"
SIZES = {"en-US_smallIcon.png": 108, "en-US_largeIcon.png": 512}

SKY_TOP = (16, 22, 58)       # deep indigo
SKY_BOTTOM = (44, 40, 96)    # a softer violet near the horizon
MOON = (246, 231, 178)       # warm, pale moonlight
GLOW = (120, 110, 190)
HILLS = (12, 16, 40)
# Stars as (x, y, radius) in a 0..1 square, placed by hand so the sky looks calm, not random.
STARS = [(0.24, 0.24, 0.012), (0.70, 0.20, 0.009), (0.80, 0.42, 0.014), (0.36, 0.14, 0.007),
         (0.18, 0.48, 0.008), (0.62, 0.33, 0.006), (0.86, 0.60, 0.007)]
SCALE = 4  # drawn this many times larger, then scaled down: smooth edges without a vector library


def draw(size: int) -> Image.Image:
    """Return the icon, ``size`` pixels square, in RGB."""
    big = size * SCALE
    sky = Image.new("RGB", (big, big))
    pixels = ImageDraw.Draw(sky)
    for y in range(big):  # a vertical gradient, one line at a time
        t = y / (big - 1)
        pixels.line([(0, y), (big, y)], fill=tuple(round(a + (b - a) * t) for a, b in zip(SKY_TOP, SKY_BOTTOM)))

    # A soft halo, then the crescent: a full disc less the same disc moved up and to the right.
    cx, cy, r = big * 0.47, big * 0.47, big * 0.22
    halo = Image.new("L", (big, big), 0)
    ImageDraw.Draw(halo).ellipse([cx - r * 1.5, cy - r * 1.5, cx + r * 1.5, cy + r * 1.5], fill=90)
    halo = halo.filter(ImageFilter.GaussianBlur(big * 0.06))
    sky = Image.composite(Image.new("RGB", sky.size, GLOW), sky, halo)

    disc = Image.new("L", (big, big), 0)
    ImageDraw.Draw(disc).ellipse([cx - r, cy - r, cx + r, cy + r], fill=255)
    bite = Image.new("L", (big, big), 0)
    dx, dy = r * 0.55, -r * 0.35
    ImageDraw.Draw(bite).ellipse([cx - r + dx, cy - r + dy, cx + r + dx, cy + r + dy], fill=255)
    crescent = ImageChops.subtract(disc, bite)
    sky = Image.composite(Image.new("RGB", sky.size, MOON), sky, crescent)

    stars = ImageDraw.Draw(sky)
    for x, y, radius in STARS:
        sr = max(radius * big, SCALE * 0.8)
        stars.ellipse([x * big - sr, y * big - sr, x * big + sr, y * big + sr], fill=MOON)

    # Low, rounded hills: the world asleep under it.
    hills = ImageDraw.Draw(sky)
    hills.ellipse([-big * 0.25, big * 0.74, big * 0.75, big * 1.30], fill=HILLS)
    hills.ellipse([big * 0.35, big * 0.80, big * 1.35, big * 1.40], fill=HILLS)

    return sky.resize((size, size), Image.Resampling.LANCZOS)


def main(argv: list[str] | None = None) -> int:
    folder = Path(argv[0]) if argv else ASSETS
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        path = folder / name
        draw(size).save(path, format="PNG", optimize=True)
        print(f"wrote {path} ({size} x {size}, {path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
