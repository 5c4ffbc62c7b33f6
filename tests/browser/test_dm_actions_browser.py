"""The data manager's actions for everything the API has (issue #17 item 6), in Chromium:
each says how many selected tasks it affects before it runs, and what it did after."""

from __future__ import annotations

from playwright.sync_api import expect

import chromium
from builders import HONEYPOT_GT, box, import_tasks
from chromium import sign_in

pytestmark = chromium.marks

IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


def _tasks(client, people, project) -> list[int]:
    """Six tasks: the first four with a GT, the last two with an annotator's annotation."""
    a1 = people["annotator"].id
    items = [
        {"data": {"image": IMAGE}, "annotations": [{"result": HONEYPOT_GT, "ground_truth": True}]}
        for _ in range(4)
    ] + [
        {
            "data": {"image": IMAGE},
            "annotations": [{"result": [box(1, 1, 5, 5)], "completed_by": a1}],
        }
        for _ in range(2)
    ]
    return import_tasks(client, people["lead"], project["id"], items)


def _pool(client, people, project) -> dict[int, str | None]:
    r = client.get(f"/api/projects/{project['id']}/honeypots", headers=people["lead"].headers)
    return {h["task"]: h["difficulty"] for h in r.json()["results"] if h["in_pool"]}


def _honeypot_column(page) -> dict[int, str]:
    rows = page.locator("#dm-table tbody tr")
    return {
        int(rows.nth(i).get_attribute("data-task")): rows.nth(i).locator("td.honeypot").inner_text()
        for i in range(rows.count())
    }


def test_lead_adds_the_selection_to_honeypots_after_a_count_and_the_pool_shows_them(
    live_server, client, people, project
):
    ids = _tasks(client, people, project)
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}")
        page.wait_for_selector("body[data-dm-ready=true]")
        assert set(_honeypot_column(page).values()) == {"–"}
        for t in (ids[0], ids[1], ids[4]):  # two with GT, one without
            page.get_by_label(f"Select task #{t}").check()
        page.click("#dm-actions")
        page.get_by_role("button", name="Add to honeypots…").click()
        dialog = page.locator("#dm-honeypots-dialog")
        expect(dialog).to_be_visible()
        assert "This affects the 3 selected tasks; those without ground truth are skipped." in (
            dialog.inner_text()
        )
        dialog.get_by_label("Difficulty").select_option("hard")
        chromium.shot(page, "dm-add-to-honeypots")
        dialog.get_by_role("button", name="Add to honeypots").click()
        expect(page.locator("#dm-message")).to_have_text(
            "Add to honeypots (hard): 2 changed, 0 unchanged, 1 skipped (of 3 selected tasks)."
        )
        assert _pool(client, people, project) == {ids[0]: "hard", ids[1]: "hard"}
        column = _honeypot_column(page)
        assert (column[ids[0]], column[ids[1]], column[ids[2]], column[ids[4]]) == (
            "hard", "hard", "–", "–",
        )  # fmt: skip

        # remove one again: a confirmation names the count first; Cancel changes nothing
        page.get_by_label(f"Select task #{ids[1]}").check()
        page.click("#dm-actions")
        page.get_by_role("button", name="Remove from honeypots…").click()
        confirm = page.locator("#dm-confirm-dialog")
        assert "The 1 selected task leave the honeypot pool" in confirm.inner_text()
        page.keyboard.press("Escape")
        assert _pool(client, people, project) == {ids[0]: "hard", ids[1]: "hard"}
        page.click("#dm-actions")
        page.get_by_role("button", name="Remove from honeypots…").click()
        page.click("#dm-confirm-run")
        expect(page.locator("#dm-message")).to_have_text(
            "Remove from honeypots: 1 changed, 0 unchanged, 0 skipped (of 1 selected task)."
        )
        assert _pool(client, people, project) == {ids[0]: "hard"}
        assert _honeypot_column(page)[ids[1]] == "–"


def test_lead_samples_ground_truth_from_the_selection_into_a_job(
    live_server, client, people, project
):
    ids = import_tasks(
        client, people["lead"], project["id"], [{"data": {"image": IMAGE}} for _ in range(10)]
    )
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}")
        page.wait_for_selector("body[data-dm-ready=true]")
        page.get_by_label("Select all tasks on this page").check()
        page.get_by_label(f"Select task #{ids[9]}").uncheck()
        page.click("#dm-actions")
        page.get_by_role("button", name="Sample ground truth into a job…").click()
        dialog = page.locator("#dm-sample-dialog")
        assert "It draws from the 9 selected tasks" in dialog.inner_text()
        dialog.get_by_label("Number of tasks").check()
        dialog.get_by_label("How many tasks").fill("3")
        chromium.shot(page, "dm-sample-ground-truth")
        dialog.get_by_role("button", name="Sample").click()
        message = page.locator("#dm-message")
        expect(message).to_contain_text("Sampled 3 tasks of the 9 selected without ground truth")
        jobs = client.get(
            f"/api/projects/{project['id']}/jobs", headers=people["lead"].headers
        ).json()
        jobs = jobs["results"] if isinstance(jobs, dict) else jobs
        (job,) = [j for j in jobs if j["title"].startswith("Ground-truth sample (3 tasks")]
        assert len(job["task_ids"]) == 3 and ids[9] not in job["task_ids"]
        assert page.locator("#dm-sample-job").get_attribute("href").endswith("/jobs")


def test_consensus_is_in_the_actions_menu_with_the_selection_count(
    live_server, client, people, project
):
    ids = _tasks(client, people, project)
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}")
        page.wait_for_selector("body[data-dm-ready=true]")
        for t in ids[4:]:
            page.get_by_label(f"Select task #{t}").check()
        page.click("#dm-actions")
        page.get_by_role("button", name="Consensus (merge the selection)…").click()
        dialog = page.locator("#dm-consensus-dialog")
        expect(dialog).to_be_visible()
        assert page.locator("#dm-consensus-selected").is_checked()
        assert page.locator("#dm-consensus-selected-text").inner_text() == "The 2 selected tasks"
