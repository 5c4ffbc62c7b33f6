"""Assembly: what reacts to label changes and which function runs each kind of background job
are decided here, once, for every way of starting (the server, the CLI, a worker, the tests)."""

from __future__ import annotations

from assay.services import background, changes, consensus, quality


def wire_services() -> None:
    """Subscribe the change handlers and register the background job kinds (idempotent)."""
    changes.subscribe(quality.on_labels_changed)
    background.register_kind("quality.recompute", quality.recompute_job)
    background.register_kind("consensus.merge", consensus.merge_job)
