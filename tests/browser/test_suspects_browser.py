"""The GT suspects page in a real browser (Debian's Chromium via playwright): a lead sees the
task whose GT calls a zebra an elephant, with the GT, the disagreeing annotators' boxes and the
model's regions side by side; dismisses a weak suspect with a reason and confirms the swapped
label, and the GT read back through the API carries the fix. An annotator gets the 403 page."""

from __future__ import annotations

import pytest

import chromium
from builders import box, import_tasks, survey_image
from chromium import sign_in

pytestmark = chromium.marks


@pytest.fixture
def browser_page():
    with chromium.new_page(1400, 900) as page:
        yield page


@pytest.fixture
def suspect_task(client, people, project, settings) -> dict:
    root = settings.resolved_media_root / f"project-{project['id']}"
    survey_image(root / "sx/t0.png", 800, 600, seed=3)
    truth = [box(10, 10, 20, 20, "Elephant"), box(50, 40, 20, 20, "Zebra")]
    raters = [people[k].id for k in ("annotator", "annotator2", "reviewer")]
    gt = [box(10, 10, 20, 20, "Elephant", id="a"), box(50, 40, 20, 20, "Elephant", id="b")]
    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/sx/t0.png"},
            "annotations": [
                {"result": [dict(r, id=f"{u}-{i}") for i, r in enumerate(truth)], "completed_by": u}
                for u in raters
            ]
            + [{"result": gt, "completed_by": people["lead"].id}],
            "predictions": [
                {"result": [dict(r, score=0.99) for r in truth], "model_version": "m1"}
            ],
        }
    ]
    (task,) = import_tasks(client, people["lead"], project["id"], items)
    anns = client.get(f"/api/tasks/{task}/annotations", headers=people["lead"].headers).json()
    gt_id = next(a["id"] for a in anns if a["completed_by"] == people["lead"].id)
    r = client.patch(
        f"/api/annotations/{gt_id}", json={"ground_truth": True}, headers=people["lead"].headers
    )
    assert r.status_code == 200, r.text
    return {"project": project["id"], "task": task, "gt": gt_id}


def test_lead_confirms_a_swapped_label_from_the_suspects_page(
    browser_page, live_server, client, people, suspect_task
):
    page, lead = browser_page, people["lead"]
    target = f"/projects/{suspect_task['project']}/suspects"
    sign_in(page, live_server, lead, f"/projects/{suspect_task['project']}")
    page.click("#suspects-link")
    page.wait_for_url(f"{live_server}{target}")
    page.wait_for_selector("#suspects[data-ready=true]")
    card = page.locator(f".sx-task[data-task='{suspect_task['task']}']")
    assert card.count() == 1
    assert card.locator(".sx-pane-gt rect.sx-gt").count() == 2
    assert card.locator(".sx-pane-gt rect.sx-flagged").count() == 1
    assert card.locator(".sx-pane-ann rect.sx-ann").count() == 3
    assert card.locator(".sx-pane-model rect.sx-model").count() == 2
    swapped = card.locator(".sx-suspect[data-kind=swapped]")
    assert "swapped label" in swapped.inner_text() and "said Zebra" in swapped.inner_text()
    chromium.shot(page, "suspects-page")
    swapped.locator(".sx-dismiss").click()  # no reason: refused on the page
    assert page.locator("#suspects-message").inner_text() == "Say why you dismiss it."
    swapped.locator(".sx-reason").fill("stripes")
    swapped.locator(".sx-confirm").click()
    page.wait_for_selector(".sx-suspect[data-kind=swapped][data-decided=confirm]")
    chromium.shot(page, "suspects-confirmed")
    gt = client.get(f"/api/annotations/{suspect_task['gt']}", headers=lead.headers).json()
    b = next(r for r in gt["result"] if r["id"] == "b")
    assert b["value"]["rectanglelabels"] == ["Zebra"]
    page.reload()
    page.wait_for_selector("#suspects[data-ready=true]")
    assert page.locator(".sx-suspect[data-kind=swapped]").count() == 0


def test_annotator_gets_no_suspects_page(browser_page, live_server, people, suspect_task):
    page = browser_page
    sign_in(page, live_server, people["annotator"], "/")
    r = page.goto(f"{live_server}/projects/{suspect_task['project']}/suspects")
    assert r.status == 403
