"""An annotator hands in a job in Chromium and sees the feedback page (issue #9)."""

from __future__ import annotations

from urllib.parse import quote

import chromium
from builders import HONEYPOT_GT as GT
from builders import answer_job as _answer
from builders import box, honeypots_of, job_aliases, make_job
from builders import honeypot_settings as settings

pytestmark = chromium.marks


def login(page, live_server, person, target):
    page.goto(f"{live_server}/login?next={quote(target)}")
    page.fill("input[name=email]", person.email)
    page.fill("input[name=password]", person.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}{target}")


def test_annotator_submits_and_sees_feedback(live_server, client, people, pool):
    settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:3])
    hp = set(honeypots_of(client, people, job["id"]))
    _answer(client, ann, job["id"], hp, [box(10, 10, 20, 20, "Zebra", id="a1")])
    url = f"/jobs/{job['id']}/feedback"
    with chromium.new_page(1100, 800) as page:
        login(page, live_server, ann, url)
        assert page.text_content("#feedback-status") == "Not handed in yet"
        page.click("#submit-job")
        page.wait_for_url(f"{live_server}{url}")
        assert page.text_content("#feedback-status") == "Needs fixes"
        assert "0 %" in page.text_content("#feedback-score")
        hints = page.locator("#feedback-hints li").all_text_contents()
        assert "Confused Elephant with Zebra." in hints and len(hints) <= 3
        body = page.text_content("body")
        assert not any(str(t) in hints_text for t in hp for hints_text in hints)
        assert "honeypot" not in body.lower()
        chromium.shot(page, "job-feedback-needs-fixes")
        # fix every answer and hand in again: accepted
        seen = job_aliases(client, job["id"])  # the ids the annotator knows the tasks by
        for t in hp:
            for a in client.get(f"/api/tasks/{seen[t]}/annotations", headers=ann.headers).json():
                client.patch(
                    f"/api/annotations/{a['id']}", json={"result": GT}, headers=ann.headers
                )
        page.click("#submit-job")
        page.wait_for_url(f"{live_server}{url}")
        assert page.text_content("#feedback-status") == "Accepted"
        assert page.locator("#submit-job").count() == 0
        assert len(page.locator("#feedback-attempts li").all_text_contents()) == 2
