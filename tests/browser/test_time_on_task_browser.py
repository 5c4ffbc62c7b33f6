"""The annotate page measures time on task (issue #18 item 4): a box drawn and submitted in
Chromium arrives with an active time that is positive and not longer than the wall time
(`lead_time`). No wall-clock limit is asserted: only that the numbers are plausible."""

from __future__ import annotations

from pathlib import Path

import chromium
from builders import import_tasks, job_aliases, survey_image
from chromium import drag, image_rect, screen_point, sign_in

pytestmark = chromium.marks


def test_annotate_page_sends_active_and_wall_time(client, people, project, settings, live_server):
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "field.png", 600, 400, seed=3)
    image = {"image": f"/data/media/project-{project['id']}/field.png"}
    [task] = import_tasks(client, people["lead"], project["id"], [{"data": image}])
    ann = people["annotator"]
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "timed", "task_ids": [task], "assignees": [ann.id]},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    job = r.json()["id"]
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ann, f"/jobs/{job}/annotate")
        page.wait_for_function(
            """() => { const ed = document.getElementById("an-editor");
                       return ed.dataset.ready === "true" && ed.dataset.busy === "false"; }"""
        )
        rect = image_rect(page)
        for i in range(5):  # a person looking around before drawing
            page.mouse.move(*screen_point(rect, 20 + 5 * i, 30))
            page.wait_for_timeout(100)
        drag(page, screen_point(rect, 30, 30), screen_point(rect, 50, 50))
        page.wait_for_selector("#gt-picker:not([hidden])")
        page.keyboard.type("zeb")
        page.keyboard.press("Enter")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            """() => document.getElementById("an-editor").dataset.ready === "complete" """
        )
    alias = job_aliases(client, job)[task]  # the annotator knows the task by its alias
    r = client.get(f"/api/tasks/{alias}/annotations", headers=ann.headers)
    assert r.status_code == 200, r.text
    [mine] = r.json()
    assert mine["job"] == job and len(mine["result"]) == 1
    assert mine["active_time"] > 0
    assert mine["active_time"] <= mine["lead_time"]
