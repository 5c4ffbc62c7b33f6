"""The conflicts page in a real browser (Debian's Chromium via playwright): a lead opens it from
the project page, sees the swap both annotators made read as a repeat, marks it a guideline
issue, and the API returns the group with that decision. An annotator gets the 403 page."""

from __future__ import annotations

import pytest

import chromium
from builders import box, import_tasks
from chromium import sign_in

pytestmark = chromium.marks

GT = [box(10, 10, 10, 10, id="e")]
SWAPPED = [box(10, 10, 10, 10, label="Zebra", id="e")]


@pytest.fixture
def browser_page():
    with chromium.new_page(1400, 900) as page:
        yield page


def test_lead_marks_a_repeated_swap_a_guideline_issue(
    browser_page, live_server, client, people, project
):
    page, lead, pid = browser_page, people["lead"], project["id"]
    (task,) = import_tasks(
        client,
        lead,
        pid,
        [{"data": {"image": "a.jpg"}, "annotations": [{"result": GT, "ground_truth": True}]}],
    )
    for who in ("annotator", "annotator2"):
        r = client.post(
            f"/api/tasks/{task}/annotations", json={"result": SWAPPED}, headers=people[who].headers
        )
        assert r.status_code == 201, r.text
    sign_in(page, live_server, lead, f"/projects/{pid}")
    page.click("#conflicts-link")
    page.wait_for_url(f"{live_server}/projects/{pid}/conflicts")
    page.wait_for_selector("#conflicts[data-ready=true]")
    row = page.locator("tr.cf-group")
    assert row.count() == 1
    assert "repeats across annotators" in row.locator(".cf-reading").inner_text()
    row.locator(".cf-guideline_issue").click()
    page.wait_for_selector("tr.cf-group[data-decision=guideline_issue]")
    chromium.shot(page, "conflicts-page")
    groups = client.get(
        f"/api/projects/{pid}/quality/conflict-groups", headers=lead.headers
    ).json()["results"]
    assert groups[0]["decision"] == "guideline_issue"

    with chromium.new_page(1400, 900) as other:
        sign_in(other, live_server, people["annotator"], f"/projects/{pid}")
        assert other.locator("#conflicts-link").count() == 0
        r = other.goto(f"{live_server}/projects/{pid}/conflicts")
        assert r is not None and r.status == 403
