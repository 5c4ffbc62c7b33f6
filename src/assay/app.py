"""Assembly: what runs when labels change is decided here, once, for every way of starting
(the server, the CLI, a worker, the tests)."""

from __future__ import annotations

from assay.services import changes, quality


def subscribe_change_handlers() -> None:
    """Rescore and refresh agreement of the tasks whose labels a unit of work changed."""
    changes.subscribe(quality.on_labels_changed)
