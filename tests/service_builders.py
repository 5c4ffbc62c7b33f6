"""Builders for tests that call services directly with a session: a project with members,
tasks, annotations — no HTTP in between."""

from __future__ import annotations

from typing import Any

from assay.services import projects, tasks
from assay.services.access import Actor, Role
from assay.services.tasks import annotations
from assay.store.db import Database

RECT_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Elephant"/><Label value="Zebra"/><Label value="Giraffe"/>
  </RectangleLabels>
</View>"""


def actor(person: Any) -> Actor:
    return Actor(person.id, Role(person.role), person.email)


def rect(x: float, y: float, w: float, h: float, label: str = "Elephant") -> dict[str, Any]:
    """A Label Studio rectangle region in percent of a 1600 x 1200 image."""
    return {
        "from_name": "label", "to_name": "image", "type": "rectanglelabels",
        "original_width": 1600, "original_height": 1200,
        "value": {"x": x, "y": y, "width": w, "height": h, "rotation": 0,
                  "rectanglelabels": [label]},
    }  # fmt: skip


def survey(db: Database, people: dict[str, Any], n_tasks: int) -> tuple[int, list[int]]:
    """A project of the lead with every other person as member, and `n_tasks` images."""
    lead = actor(people["lead"])
    with db.session() as s:
        project = projects.create_project(s, lead, title="Survey", label_config=RECT_CONFIG)
        for key in ("reviewer", "annotator", "annotator2"):
            projects.add_member(s, lead, project.id, people[key].id)
        items = [{"data": {"image": f"/data/img_{i}.png"}} for i in range(n_tasks)]
        made = tasks.import_tasks(s, lead, project.id, items)
        return project.id, made.task_ids


def annotate(
    db: Database, person: Any, task_id: int, regions: list[dict[str, Any]], gt: bool = False
) -> int:
    with db.session() as s:
        return annotations.create_annotation(s, actor(person), task_id, regions, ground_truth=gt).id
