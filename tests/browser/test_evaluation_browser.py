"""Annotator evaluation in Chromium (#21): a paused annotator's My work says why, since when,
by whom and whom to ask, and offers no way into the paused project's work; a lead unpauses
them from the project's members page, and their work opens again."""

from __future__ import annotations

import chromium
from builders import import_tasks, make_job
from chromium import sign_in

pytestmark = chromium.marks


def test_paused_annotator_sees_why_and_a_lead_unpauses(live_server, client, people, project):
    pid = project["id"]
    lead, annotator = people["lead"], people["annotator"]
    ids = import_tasks(client, lead, pid, [{"data": {"image": f"{i}.jpg"}} for i in range(2)])
    job = make_job(client, people, {"project": pid}, ids)["id"]
    r = client.post(
        f"/api/projects/{pid}/members/{annotator.id}/pause",
        json={"reason": "Please reread the guidelines on occluded animals."},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text

    with chromium.new_page(1200, 800) as page:
        sign_in(page, live_server, annotator, "/me")
        notice = page.locator(f"#my-pauses .pause-notice[data-project='{pid}']")
        assert notice.is_visible()
        assert "occluded animals" in page.text_content(".pause-reason")
        assert page.text_content(".pause-by") == lead.email
        assert lead.email in page.text_content(".pause-contact")
        row = page.locator(f"tr[data-job='{job}']")
        assert row.locator(".status-paused").is_visible()
        assert row.locator(".annotate-link").count() == 0  # no way into paused work
        assert row.locator(".feedback-link").is_visible()  # feedback stays readable
        chromium.shot(page, "my-work-paused")

    with chromium.new_page(1300, 800) as page:
        sign_in(page, live_server, lead, f"/projects/{pid}/members")
        cell = page.locator(f"tr[data-user='{annotator.id}'] td.evaluation")
        assert cell.get_attribute("data-status") == "paused"
        assert "occluded animals" in cell.text_content()
        chromium.shot(page, "members-paused")
        page.click(f"button[aria-label='Unpause {annotator.email}']")
        page.wait_for_selector("#members-notice")
        assert "Unpaused" in page.text_content("#members-notice")
        cell = page.locator(f"tr[data-user='{annotator.id}'] td.evaluation")
        assert cell.get_attribute("data-status") != "paused"
        assert page.locator(f"button[aria-label='Pause {annotator.email}']").is_visible()

    assert client.get(f"/api/jobs/{job}/next", headers=annotator.headers).status_code == 200
    past = client.get(f"/api/projects/{pid}/pauses", headers=lead.headers).json()["results"]
    assert past[0]["unpaused_by"] == lead.id and not past[0]["current"]
    with chromium.new_page(1200, 800) as page:
        sign_in(page, live_server, annotator, "/me")
        assert page.locator("#my-pauses").count() == 0
        assert page.locator(f"tr[data-job='{job}'] .annotate-link").is_visible()
