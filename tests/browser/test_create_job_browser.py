"""A lead creates a job in the browser (issue #17): the data manager's "Create job…" on the
selected tasks (or all of a filter), with its assignees; honeypots come in per the project's
settings; the annotator finds it on My work. Annotators and reviewers are not offered it."""

from __future__ import annotations

from playwright.sync_api import expect

import chromium
from builders import HONEYPOT_GT, honeypot_settings, import_tasks
from chromium import sign_in

pytestmark = chromium.marks

IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


def _tasks(client, people, project) -> tuple[list[int], list[int]]:
    """Five plain tasks, and three with a GT in the honeypot pool; one honeypot per job."""
    plain = import_tasks(
        client, people["lead"], project["id"], [{"data": {"image": IMAGE}} for _ in range(5)]
    )
    gt = import_tasks(
        client,
        people["lead"],
        project["id"],
        [
            {
                "data": {"image": IMAGE},
                "annotations": [{"result": HONEYPOT_GT, "ground_truth": True}],
            }
            for _ in range(3)
        ],
    )
    r = client.post(
        f"/api/dm/actions?id=add_to_honeypots&project={project['id']}",
        json={"selectedItems": {"all": False, "included": gt}},
        headers=people["lead"].headers,
    )
    assert r.json()["changed"] == 3, r.text
    honeypot_settings(client, people, {"project": project["id"]}, per_job=1)
    return plain, gt


def _jobs(client, people, project) -> list[dict]:
    url = f"/api/projects/{project['id']}/jobs"
    return client.get(url, headers=people["lead"].headers).json()["results"]


def test_lead_creates_a_job_of_the_selection_and_the_annotator_starts_it(
    live_server, client, people, project
):
    plain, gt = _tasks(client, people, project)
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}")
        page.wait_for_selector("body[data-dm-ready=true]")
        for t in plain[:3]:
            page.get_by_label(f"Select task #{t}").check()
        page.click("#dm-actions")
        page.get_by_role("button", name="Create job…").click()
        dialog = page.locator("#dm-job-dialog")
        expect(dialog).to_be_visible()
        text = dialog.inner_text()
        assert "The job holds the 3 selected tasks." in text
        assert "Honeypots from the project's pool (3 active) are mixed in" in text
        assert "1 per job" in text
        # annotators first among the members
        people_listed = dialog.locator("#dm-job-assignees label").all_inner_texts()
        assert [p.split()[0] for p in people_listed] == [
            people["annotator"].email,
            people["annotator2"].email,
            people["lead"].email,
            people["reviewer"].email,
        ]
        dialog.get_by_label("Title").fill("Flight block 9")
        dialog.get_by_role("button", name="Create job").click()
        expect(page.locator("#dm-job-error")).to_have_text("Pick at least one assignee.")
        assert _jobs(client, people, project) == []

        # a refusal of the API shows in the dialog, which stays open
        r = client.delete(
            f"/api/projects/{project['id']}/members/{people['annotator2'].id}",
            headers=people["lead"].headers,
        )
        assert r.status_code == 204, r.text
        dialog.get_by_label(people["annotator2"].email).check()
        dialog.get_by_role("button", name="Create job").click()
        expect(page.locator("#dm-job-error")).to_contain_text(
            f"user {people['annotator2'].id} is not a member of project"
        )
        expect(dialog).to_be_visible()
        assert _jobs(client, people, project) == []

        dialog.get_by_label(people["annotator2"].email).uncheck()
        dialog.get_by_label(people["annotator"].email).check()
        chromium.shot(page, "dm-create-job")
        dialog.get_by_role("button", name="Create job").click()
        expect(dialog).to_be_hidden()
        (job,) = _jobs(client, people, project)
        expect(page.locator("#dm-message")).to_have_text(
            f"Job {job['id']} created: 3 tasks (+1 honeypot). Jobs →"
        )
        assert job["title"] == "Flight block 9" and job["assignees"] == [people["annotator"].id]
        assert [t for t in job["task_ids"] if t in plain] == plain[:3]
        assert len(set(job["task_ids"]) & set(gt)) == 1
        assert page.locator("#dm-selected").inner_text() == "No tasks selected"
        page.click("#dm-job-link")
        page.wait_for_url(f"{live_server}/projects/{project['id']}/jobs")
        expect(page.locator(f"tr[data-job='{job['id']}'] .job-title")).to_have_text(
            "Flight block 9"
        )

    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, people["annotator"], "/me")
        row = page.locator(f"tr[data-job='{job['id']}']")
        expect(row.locator("a.annotate-link")).to_have_text("Start")
        row.locator("a.annotate-link").click()
        page.wait_for_url(f"{live_server}/jobs/{job['id']}/annotate")


def test_new_job_from_the_jobs_page_takes_every_task_of_a_filter(
    live_server, client, people, project
):
    plain, gt = _tasks(client, people, project)
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}/jobs")
        expect(page.locator("p.empty")).to_contain_text("No jobs yet. Create one")
        page.click("#new-job")
        page.wait_for_url(f"{live_server}/projects/{project['id']}?new_job=1")
        expect(page.locator("#dm-new-job-hint")).to_contain_text("Actions → Create job…")
        # every task without ground truth, two per page: "select all" takes all five
        page.goto(f"{live_server}/projects/{project['id']}?ground_truth=false&page_size=2")
        page.wait_for_selector("body[data-dm-ready=true]")
        page.get_by_label("Select all tasks on this page").check()
        page.click("#dm-select-everything")
        page.click("#dm-actions")
        page.get_by_role("button", name="Create job…").click()
        dialog = page.locator("#dm-job-dialog")
        assert "The job holds the 5 selected tasks." in dialog.inner_text()
        dialog.get_by_label("Title").fill("Everything unlabelled")
        dialog.get_by_label(people["annotator2"].email).check()
        dialog.get_by_role("button", name="Create job").click()
        expect(page.locator("#dm-message")).to_contain_text("created: 5 tasks (+1 honeypot).")
        (job,) = _jobs(client, people, project)
        assert page.locator("#dm-message").inner_text().startswith(f"Job {job['id']} created")
        assert sorted(t for t in job["task_ids"] if t not in gt) == sorted(plain)


def test_annotators_and_reviewers_are_not_offered_create_job(live_server, client, people, project):
    _tasks(client, people, project)
    for role in ("annotator", "reviewer"):
        with chromium.new_page(1300, 820) as page:
            sign_in(page, live_server, people[role], f"/projects/{project['id']}")
            page.wait_for_load_state()
            assert page.get_by_role("button", name="Create job…").count() == 0, role
            assert page.locator("#dm-job-dialog").count() == 0, role
            page.goto(f"{live_server}/projects/{project['id']}/jobs")
            assert page.locator("#new-job").count() == 0, role
            page.goto(f"{live_server}/projects/{project['id']}?new_job=1")
            assert page.locator("#dm-new-job-hint").count() == 0, role
