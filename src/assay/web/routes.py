"""Web pages. Placeholder until the web shell lands."""

from __future__ import annotations

from fastapi import FastAPI

from assay.settings import Settings


def install(app: FastAPI, settings: Settings) -> None:
    return None
