"""Colour shading and the array aliases shared by the animal, ground and image painters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]  # (K, 2) polygon vertices, x then y
RGB = tuple[int, int, int]


def shade(colour: Sequence[float], factor: float) -> RGB:
    """`colour` (r, g, b) times `factor`, each channel rounded and clipped to 0-255."""
    r, g, b = (int(np.clip(round(c * factor), 0, 255)) for c in colour)
    return (r, g, b)
