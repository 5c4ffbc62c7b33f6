"""The rework loop in Chromium (#18): a reviewer rejects with a reason from the project's list,
the annotator finds the task back on the annotate page with the reason above the editor and
their boxes in it, fixes and resubmits, and the resubmission is the first thing the same
reviewer's stream shows."""

from __future__ import annotations

from pathlib import Path

import pytest

import chromium
from builders import aliases_of, box, import_tasks, make_job, survey_image
from chromium import drag, image_rect, screen_point, sign_in

pytestmark = chromium.marks


@pytest.fixture
def work(client, people, project, settings) -> dict:
    """Three tasks in a job of the annotator, who boxed each of them (through the API)."""
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "herd.png", 600, 400, seed=7)
    image = {"image": f"/data/media/project-{project['id']}/herd.png"}
    ids = import_tasks(client, people["lead"], project["id"], [{"data": image}] * 3)
    job = make_job(client, people, {"project": project["id"]}, ids)["id"]
    # the annotator knows the job's tasks by alias (services.task_aliases), staff by real id
    seen = aliases_of(client, people["lead"], people["annotator"], job)
    anns = []
    for t in ids:
        r = client.post(
            f"/api/tasks/{seen[t]}/annotations",
            json={"job": job, "result": [box(10, 10, 20, 20, "Zebra")]},
            headers=people["annotator"].headers,
        )
        assert r.status_code == 201, r.text
        anns.append(r.json()["id"])
    return {
        "project": project["id"],
        "job": job,
        "tasks": ids,
        "seen": [seen[t] for t in ids],
        "anns": anns,
    }


def _shown_annotation(page, not_id: int | None = None) -> int:
    page.wait_for_function(
        """(old) => {
            const rv = document.getElementById("rv");
            return rv && rv.dataset.ready === "true" && rv.dataset.busy === "false"
                && rv.dataset.annotation !== String(old);
        }""",
        arg=not_id,
    )
    return int(page.get_attribute("#rv", "data-annotation"))


def test_a_reject_with_a_reason_reaches_the_annotator_and_comes_back(
    live_server, client, people, work
):
    pid, job, last = work["project"], work["job"], work["anns"][2]
    reviewer, annotator = people["reviewer"], people["annotator"]
    # the reviewer rejects the last task's annotation, naming a reason from the list
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, reviewer, f"/projects/{pid}/review?tasks={work['tasks'][2]}")
        assert _shown_annotation(page) == last
        page.keyboard.press("r")
        options = page.locator("#rv-reason option").all_inner_texts()
        assert options[-1] == "other" and "loose boxes" in options
        page.select_option("#rv-reason", "loose boxes")
        page.fill("#rv-comment", "The zebra's box is far too big.")
        page.click("#rv-reject-send")
        page.wait_for_function(
            "() => document.getElementById('rv').dataset.busy === 'false'"
            " && document.getElementById('rv-reject-form').hidden"
        )
    got = client.get(f"/api/annotations/{last}", headers=reviewer.headers).json()
    assert got["review_status"] == "rejected"

    # the annotator gets it back first, the reason above the editor, their box in it
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, annotator, f"/jobs/{job}/annotate")
        page.wait_for_function(
            "() => document.getElementById('an-editor').dataset.ready === 'true'"
        )
        assert int(page.get_attribute("#an-editor", "data-task")) == work["seen"][2]
        assert page.locator("#an-rework").is_visible()
        assert page.text_content("#an-rework-reason") == "loose boxes"
        assert page.text_content("#an-rework-comment") == "The zebra's box is far too big."
        assert page.text_content("#an-rework-reviewer") == reviewer.email
        assert page.text_content("#an-box-count") == "· 1 box"
        chromium.shot(page, "annotate-rework")
        # fix: delete the loose box, draw a tight one, submit
        rect = image_rect(page)
        page.mouse.click(*screen_point(rect, 20, 20))
        page.keyboard.press("Delete")
        assert page.text_content("#an-box-count") == "· 0 boxes"
        drag(page, screen_point(rect, 60, 60), screen_point(rect, 68, 68))
        page.wait_for_selector("#gt-picker:not([hidden])")
        page.keyboard.type("zeb")
        page.keyboard.press("Enter")
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            """() => { const ed = document.getElementById("an-editor");
                       return ed.dataset.ready === "complete" && ed.dataset.busy === "false"; }"""
        )
        assert page.locator("#an-rework").is_hidden()
    fixed = client.get(f"/api/annotations/{last}", headers=annotator.headers).json()
    assert fixed["review_status"] == "none" and fixed["revision"] == 2
    assert len(fixed["result"]) == 1 and fixed["result"][0]["value"]["x"] == pytest.approx(
        60, abs=1
    )

    # back to the same reviewer: first in their stream, ahead of the older unreviewed tasks
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, reviewer, f"/projects/{pid}/review")
        assert _shown_annotation(page) == last
        page.keyboard.press("a")
        assert _shown_annotation(page, not_id=last) == work["anns"][0]
    reviews = client.get(f"/api/annotations/{last}/reviews", headers=reviewer.headers).json()
    assert [(r["action"], r["reason"], r["superseded_at"] is not None) for r in reviews] == [
        ("reject", "loose boxes", True),
        ("accept", None, False),
    ]


def test_an_accepted_job_tells_its_annotator_it_is_closed(live_server, client, people, work):
    r = client.post(f"/api/jobs/{work['job']}/accept", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, people["annotator"], f"/jobs/{work['job']}/annotate")
        page.wait_for_function(
            "() => document.getElementById('an-editor').dataset.status === 'closed'"
        )
        assert page.text_content("#an-status") == "closed"
        assert "accepted by a lead and is closed" in page.text_content("#an-intro")
        assert page.locator("#an-handin-button").is_hidden()
        assert page.locator("#an-panes").is_hidden()
