"""The survey's images: each drawn from (seed, index) as ground, bushes, rocks, shadows, animals
and camera grain, and written as JPEG files."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

from assay.demo.synth.animals import place_animals
from assay.demo.synth.ground import draw_ground, value_noise
from assay.demo.synth.paint import shade
from assay.demo.synth.records import SPECIES, Animal, Survey, SyntheticImage

JPEG_QUALITY: Final = 85
_BUSH: Final = (56, 70, 38)


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float) -> list[float]:
    """An irregular closed outline (flat x, y list) around a centre, e.g. a rock."""
    t = np.linspace(0.0, 2.0 * math.pi, 14, endpoint=False)
    r = radius * rng.uniform(0.7, 1.1, t.size)
    return np.column_stack((cx + r * np.cos(t), cy + r * np.sin(t))).ravel().tolist()


def _render_image(
    seed: int, index: int, width: int, height: int, empty: bool, draw_animals: bool = True
) -> tuple[npt.NDArray[np.uint8], tuple[Animal, ...]]:
    """Draw image `index` of the survey: (H, W, 3) uint8 RGB and its true animals.

    Each image has its own random stream (seed, index), so an image does not depend on how
    many others are drawn. `draw_animals=False` leaves out only the animal bodies (shadows and
    all random draws stay the same), which lets tests see exactly which pixels are animal.
    """
    rng = np.random.default_rng([seed, index])
    sun = rng.uniform(0.0, 2.0 * math.pi)
    sun_x, sun_y = math.cos(sun), math.sin(sun)
    shadow_length = rng.uniform(0.6, 1.3)  # low sun: long shadows
    ground = draw_ground(rng, width, height)

    bushes = []
    for _ in range(int(rng.integers(4, 30))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = 5.0 + 40.0 * rng.beta(1.2, 4.0)  # mostly shrubs, a few acacia crowns
        k = int(rng.integers(3, 7)) + int(radius / 5.0)
        offsets = rng.normal(0.0, radius * 0.35, (k, 2))
        radii = radius * rng.uniform(0.45, 0.8, k)
        tones = rng.uniform(0.75, 1.2, k)
        bushes.append((cx + offsets[:, 0], cy + offsets[:, 1], radii, tones, radius))
    rocks = []
    for _ in range(int(rng.integers(0, 5))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        is_mound = rng.random() < 0.5
        radius = rng.uniform(4, 10) if is_mound else rng.uniform(5, 16)
        colour = (176, 122, 82) if is_mound else (138, 134, 126)
        rocks.append((_blob(rng, cx, cy, radius), shade(colour, rng.uniform(0.85, 1.1)), radius))
    animals = [] if empty else place_animals(rng, width, height, int(rng.integers(1, 13)))

    shadow = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(shadow)
    for xs, ys, radii, _tones, radius in bushes:
        dx, dy = sun_x * radius * shadow_length, sun_y * radius * shadow_length
        for x, y, r in zip(xs, ys, radii, strict=True):
            draw.ellipse((x + dx - r, y + dy - r, x + dx + r, y + dy + r), fill=255)
    for outline, _colour, radius in rocks:
        offset = np.tile((sun_x * radius * 0.6, sun_y * radius * 0.6), len(outline) // 2)
        draw.polygon((np.asarray(outline) + offset).tolist(), fill=255)
    for a in animals:
        reach = a.shadow * shadow_length * a.sprite.size / 1.3
        size = a.sprite.size
        # Stamps of the silhouette at most 3 pixels apart smear it into a cast shadow.
        for k in np.linspace(0.2, 1.0, max(2, math.ceil(reach / 3.0))):
            left = round(a.left + sun_x * reach * k)
            top = round(a.top + sun_y * reach * k)
            shadow.paste(255, (left, top, left + size, top + size), mask=a.sprite.alpha)
    darkness = rng.uniform(0.35, 0.5)
    shaded = ground.point(lambda v: round(v * (1.0 - darkness)))
    image = Image.composite(shaded, ground, shadow.filter(ImageFilter.BoxBlur(1.5)))
    draw = ImageDraw.Draw(image)
    for xs, ys, radii, tones, _radius in bushes:
        for x, y, r, tone in zip(xs, ys, radii, tones, strict=True):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=shade(_BUSH, tone))
    for outline, colour, _radius in rocks:
        draw.polygon(outline, fill=colour)
    if draw_animals:
        for a in animals:
            image.paste(a.sprite.rgb, (a.left, a.top), mask=a.sprite.alpha)

    # Camera: fine sensor grain, grass tufts a few pixels wide, darker corners.
    grain = rng.standard_normal((height, width), np.float32) * 6.0
    grain += (value_noise(rng, width, height, 3.0) - 0.5) * 36.0
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    vignette = 1.0 - 0.06 * (xs * xs + ys * ys)
    pixels = np.asarray(image, np.float32) * vignette[..., None] + grain[..., None]
    out = np.clip(pixels, 0, 255).astype(np.uint8)
    return out, tuple(a.animal() for a in animals)


def _empty_images(seed: int, n_images: int) -> frozenset[int]:
    """Which images show no animals: about one in ten, at least one once there are three."""
    count = round(0.1 * n_images) or (1 if n_images >= 3 else 0)
    rng = np.random.default_rng([seed, 0x5EED])
    return frozenset(int(i) for i in rng.choice(n_images, size=count, replace=False))


def generate_survey(
    out_dir: Path, n_images: int = 60, width: int = 1600, height: int = 1200, seed: int = 7
) -> Survey:
    """Draw `n_images` JPEG survey images into `out_dir` and return their true animals.

    Images are `width` x `height` pixels, 0-12 animals each (a few have none), named
    survey_0001.jpg and so on. The same seed gives the same pixels and boxes. Images are
    drawn on a few threads (numpy and Pillow release the GIL); each has its own random
    stream, so the result does not depend on scheduling.
    """
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    if width < 200 or height < 200:
        raise ValueError(f"images must be at least 200 x 200 pixels, got {width} x {height}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    empty = _empty_images(seed, n_images)

    def draw(index: int) -> SyntheticImage:
        pixels, animals = _render_image(seed, index, width, height, index in empty)
        file_name = f"survey_{index + 1:04d}.jpg"
        Image.fromarray(pixels).save(out_dir / file_name, "JPEG", quality=JPEG_QUALITY)
        return SyntheticImage(file_name, width, height, animals)

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = tuple(pool.map(draw, range(n_images)))
    return Survey(images=images, labels=SPECIES)
