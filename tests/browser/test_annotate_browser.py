"""Annotating a job in Chromium (issue #17 item 1): an annotator opens a job of five tasks,
two of them honeypots, from My work, draws a box on each with the mouse, skips one with a
reason, goes Back once to revise, submits with Ctrl+Enter, hands the job in and reads the
feedback; with a low score "Revise my work" reopens the tasks; the lead sees the hand-in."""

from __future__ import annotations

from pathlib import Path

import pytest

import chromium
from builders import (
    HONEYPOT_GT,
    honeypot_settings,
    honeypots_of,
    import_tasks,
    job_aliases,
    make_job,
    survey_image,
)
from chromium import drag, image_rect, screen_point, sign_in

pytestmark = chromium.marks


@pytest.fixture
def job(client, people, project, settings) -> dict:
    """Three plain tasks and two with GT in the honeypot pool; a job of the three gets both."""
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "field.png", 600, 400, seed=5)
    image = {"image": f"/data/media/project-{project['id']}/field.png"}
    ids = import_tasks(client, people["lead"], project["id"], [{"data": image}] * 5)
    plain, gt = ids[:3], ids[3:]
    lead = people["lead"].headers
    for t in gt:
        body = {"result": HONEYPOT_GT, "ground_truth": True}
        assert (
            client.post(f"/api/tasks/{t}/annotations", json=body, headers=lead).status_code == 201
        )
    r = client.post(
        f"/api/dm/actions?id=add_to_honeypots&project={project['id']}",
        json={"selectedItems": {"all": False, "included": gt}},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    pool = {"project": project["id"]}
    honeypot_settings(client, people, pool, per_job=2, max_attempts=3)
    made = make_job(client, people, pool, plain)
    assert set(honeypots_of(client, people, made["id"])) == set(gt)
    return {"id": made["id"], "tasks": ids, "honeypots": set(gt)}


def wait_task(page, not_task: int | None = None) -> int:
    page.wait_for_function(
        """(old) => {
            const ed = document.getElementById("an-editor");
            return ed.dataset.ready === "true" && ed.dataset.busy === "false"
                && ed.dataset.task !== String(old);
        }""",
        arg=not_task,
    )
    return int(page.get_attribute("#an-editor", "data-task"))


def wait_complete(page) -> None:
    page.wait_for_function(
        """() => { const ed = document.getElementById("an-editor");
                   return ed.dataset.ready === "complete" && ed.dataset.busy === "false"; }"""
    )


def draw(page, x: float, y: float, label: str = "zeb") -> None:
    """A box from (x, y) to (x + 8, y + 8), percent of the image, labelled by typing."""
    rect = image_rect(page)
    drag(page, screen_point(rect, x, y), screen_point(rect, x + 8, y + 8))
    page.wait_for_selector("#gt-picker:not([hidden])")
    page.keyboard.type(label)
    page.keyboard.press("Enter")


def boxes(page) -> str:
    return page.text_content("#an-box-count")


def own_annotation(client, person, task: int, job: int) -> dict:
    anns = client.get(f"/api/tasks/{task}/annotations", headers=person.headers).json()
    mine = [a for a in anns if a["job"] == job and a["completed_by"] == person.id]
    assert len(mine) == 1
    return mine[0]


def test_annotator_works_a_job_and_hands_it_in(live_server, client, people, job):
    ann = people["annotator"]
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ann, "/me")
        page.click(f'tr[data-job="{job["id"]}"] a.annotate-link')
        page.wait_for_url(f"{live_server}/jobs/{job['id']}/annotate")
        order: list[int] = []
        task = wait_task(page)
        assert page.text_content("#an-progress-text") == "0 of 5"
        # undo within a task: draw, Ctrl+Z takes it away
        draw(page, 70, 70)
        assert boxes(page) == "· 1 box"
        assert page.get_attribute("#an-editor", "data-dirty") == "true"
        page.keyboard.press("Control+z")
        assert boxes(page) == "· 0 boxes"
        for i in range(5):
            order.append(task)
            if i == 1:  # skip the second task, with a reason
                page.keyboard.press("s")
                page.fill("#an-skip-reason", "too dark to see")
                page.click("#an-skip-send")
            else:
                draw(page, 70, 70 - 10 * (i % 2))
                if i == 0:
                    chromium.shot(page, "annotate")
                page.keyboard.press("Control+Enter")
            if i == 2:  # Back once to revise the task just submitted, add a box
                task = wait_task(page, task)
                page.click("#an-back")
                assert wait_task(page, task) == order[-1]
                assert page.get_attribute("#an-editor", "data-revising") == "true"
                assert boxes(page) == "· 1 box"
                draw(page, 20, 70, "gir")
                page.keyboard.press("Control+Enter")
                task = wait_task(page, order[-1])
                continue
            if i < 4:
                task = wait_task(page, task)
                assert page.text_content("#an-progress-text") == f"{i + 1} of 5"
        wait_complete(page)
        seen = job_aliases(client, job["id"])  # the page shows the ids the annotator knows
        assert sorted(order) == sorted(seen[t] for t in job["tasks"])
        assert page.text_content("#an-status") == "Not handed in yet"
        # what was stored: a box per task, the skip with its reason, the revision's two boxes
        skipped = own_annotation(client, ann, order[1], job["id"])
        assert skipped["was_cancelled"] and skipped["skip_reason"] == "too dark to see"
        revised = own_annotation(client, ann, order[2], job["id"])
        assert [r["value"]["rectanglelabels"] for r in revised["result"]] == [
            ["Zebra"],
            ["Giraffe"],
        ]
        assert revised["revision"] == 2
        first = own_annotation(client, ann, order[0], job["id"])
        assert len(first["result"]) == 1  # the undone box is gone
        # hand in: the boxes miss the checks, so the job needs fixes
        page.click("#an-handin-button")
        page.wait_for_function(
            "() => document.getElementById('an-editor').dataset.status === 'needs_fixes'"
        )
        assert page.text_content("#an-status") == "Needs fixes"
        assert "0 %" in page.text_content("#an-score")
        assert page.text_content("#an-attempts") == "2 attempts left."
        assert page.locator("#an-hints li").count() >= 1
        assert "honeypot" not in page.text_content("body").lower()
        chromium.shot(page, "annotate-needs-fixes")
        # "Revise my work" reopens the tasks from the first one
        page.click("#an-revise")
        assert wait_task(page) == order[0]
        assert page.get_attribute("#an-editor", "data-revising") == "true"
    # the lead sees the hand-in
    subs = client.get(f"/api/jobs/{job['id']}/submissions", headers=people["lead"].headers).json()
    rows = subs["results"] if isinstance(subs, dict) else subs
    assert [(s["annotator"], s["status"]) for s in rows] == [(ann.id, "needs_fixes")]
