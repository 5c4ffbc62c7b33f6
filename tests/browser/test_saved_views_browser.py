"""Saved views in the data manager (issue #18 item 2), in Chromium: tabs above the task table,
a lead's project-wide view for every member, a personal view for its owner only, the selected
view kept on reload, and rename / delete only where one may change the view."""

from __future__ import annotations

import re

from playwright.sync_api import expect

import chromium
from builders import HONEYPOT_GT, import_tasks
from chromium import sign_in

pytestmark = chromium.marks

IMAGE = "data:image/gif;base64,R0lGODlhAQABAAAAACw="


def _tasks(client, people, project) -> list[int]:
    """Five tasks, the first three with a GT."""
    items = [
        {"data": {"image": IMAGE}, "annotations": [{"result": HONEYPOT_GT, "ground_truth": True}]}
        for _ in range(3)
    ] + [{"data": {"image": IMAGE}} for _ in range(2)]
    return import_tasks(client, people["lead"], project["id"], items)


def _rows(page) -> list[int]:
    rows = page.locator("#dm-table tbody tr")
    return [int(rows.nth(i).get_attribute("data-task")) for i in range(rows.count())]


def _expect_tabs(page, names: list[str]) -> None:
    expect(page.locator(".dm-view-tabs a")).to_have_text(names)


def _save(page, dialog) -> None:
    """Submit the Save view dialog and wait for the new view's page."""
    before = page.url
    dialog.get_by_role("button", name="Save view").click()
    page.wait_for_url(lambda url: url != before and "?view=" in url)
    page.wait_for_selector("body[data-dm-views-ready=true]")


def _open(page, live_server, person, path) -> None:
    sign_in(page, live_server, person, path)
    page.wait_for_selector("body[data-dm-views-ready=true]")


def test_a_leads_project_view_is_everyones_a_personal_view_its_owners_and_reload_keeps_it(
    live_server, client, people, project
):
    ids = _tasks(client, people, project)
    home = f"/projects/{project['id']}"
    with chromium.new_page(1440, 900) as page:
        _open(page, live_server, people["lead"], home)
        _expect_tabs(page, ["All tasks"])
        page.get_by_role("link", name="Has GT").click()
        page.wait_for_url(lambda url: "ground_truth=true" in url)
        page.get_by_label("Order").select_option("-tasks:id")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(lambda url: "ordering=-tasks%3Aid" in url)
        assert _rows(page) == [ids[2], ids[1], ids[0]]
        page.get_by_role("button", name="Save view…").click()
        dialog = page.locator("#dm-view-save-dialog")
        dialog.get_by_label("Name").fill("Checked, newest")
        dialog.get_by_label("Every member of the project").check()
        chromium.shot(page, "dm-save-view")
        _save(page, dialog)
        expect(page.locator(".dm-view-tabs a[aria-current=page]")).to_have_text("Checked, newest")
        _expect_tabs(page, ["All tasks", "Checked, newest"])
        assert _rows(page) == [ids[2], ids[1], ids[0]]
        expect(page.get_by_role("button", name="Rename view…")).to_be_visible()
        expect(page.get_by_role("button", name="Delete view…")).to_be_visible()
        shared_url = page.url

        # "select all" under a view selects the view's tasks, on every page
        page.goto(f"{shared_url}&page_size=2")
        page.wait_for_selector("body[data-dm-ready=true]")
        page.get_by_label("Select all tasks on this page").check()
        page.get_by_role("button", name="Select all 3 tasks in this view").click()
        expect(page.locator("#dm-banner-text")).to_have_text(
            "All 3 tasks in this view are selected."
        )
        page.click("#dm-actions")
        page.get_by_role("button", name="Remove from honeypots…").click()
        page.click("#dm-confirm-run")
        expect(page.locator("#dm-message")).to_have_text(
            "Remove from honeypots: 0 changed, 0 unchanged, 3 skipped (of 3 selected tasks)."
        )

        # the reviewer sees the tab, applies it, may not change it, and saves only for herself
        page.context.clear_cookies()
        _open(page, live_server, people["reviewer"], home)
        _expect_tabs(page, ["All tasks", "Checked, newest"])
        assert _rows(page) == ids
        page.get_by_role("link", name="Checked, newest").click()
        page.wait_for_url(shared_url)
        assert _rows(page) == [ids[2], ids[1], ids[0]]
        expect(page.get_by_role("button", name="Rename view…")).to_have_count(0)
        expect(page.get_by_role("button", name="Delete view…")).to_have_count(0)
        page.get_by_label("Order").select_option("tasks:id")
        page.get_by_role("button", name="Apply").click()
        page.wait_for_url(lambda url: "ordering=tasks%3Aid" in url)
        page.get_by_role("button", name="Save view…").click()
        dialog = page.locator("#dm-view-save-dialog")
        expect(dialog.get_by_label("Every member of the project")).to_have_count(0)
        dialog.get_by_label("Name").fill("Mine")
        before = page.url
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: url != before and "?view=" in url)
        _expect_tabs(page, ["All tasks", "Checked, newest", "Mine personal"])
        assert _rows(page) == [ids[0], ids[1], ids[2]]  # GT only, in task order
        mine_url = page.url
        page.reload()
        page.wait_for_selector("body[data-dm-views-ready=true]")
        expect(page.locator(".dm-view-tabs a[aria-current=page]")).to_have_text("Mine personal")
        assert _rows(page) == [ids[0], ids[1], ids[2]]

        # rename it from the keyboard; a refusal of the API shows in the dialog
        page.get_by_role("button", name="Rename view…").focus()
        page.keyboard.press("Enter")
        dialog = page.locator("#dm-view-rename-dialog")
        expect(dialog.get_by_label("Name")).to_have_value("Mine")
        dialog.get_by_label("Name").fill("GT first")
        dialog.get_by_role("button", name="Rename").click()
        expect(page.locator(".dm-view-tabs a[aria-current=page]")).to_have_text("GT first personal")

        # the lead does not see the reviewer's personal view, nor open it by its address
        page.context.clear_cookies()
        _open(page, live_server, people["lead"], home)
        _expect_tabs(page, ["All tasks", "Checked, newest"])
        assert page.goto(mine_url).status == 404

        # her view is deleted elsewhere: her stale page says so when she acts on it
        page.context.clear_cookies()
        _open(page, live_server, people["reviewer"], mine_url.removeprefix(live_server))
        view = mine_url.rsplit("=", 1)[1]
        r = client.delete(f"/api/dm/views/{view}", headers=people["reviewer"].headers)
        assert r.status_code == 204
        page.get_by_role("button", name="Rename view…").click()
        dialog = page.locator("#dm-view-rename-dialog")
        dialog.get_by_role("button", name="Rename").click()
        expect(dialog.locator("[data-error]")).to_have_text(f"View {view} not found.")
        dialog.get_by_role("button", name="Cancel").click()
        page.goto(f"{live_server}{home}")
        _expect_tabs(page, ["All tasks", "Checked, newest"])


def test_an_annotator_sees_project_views_without_changing_them_and_deletes_her_own(
    live_server, client, people, project
):
    _tasks(client, people, project)
    r = client.post(
        "/api/dm/views",
        json={"project": project["id"], "scope": "project",
              "data": {"title": "Newest", "ordering": ["-tasks:id"]}},
        headers=people["lead"].headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    home = f"/projects/{project['id']}"
    with chromium.new_page(1440, 900) as page:
        _open(page, live_server, people["annotator"], home)
        _expect_tabs(page, ["All tasks", "Newest"])
        # no real times to order by for an annotator
        options = page.locator("#dm-ordering option").all_inner_texts()
        assert "Newest first" not in options and "Task ↓" in options
        page.get_by_role("link", name="Newest").click()
        page.wait_for_url(re.compile(r"\?view=\d+$"))
        expect(page.locator("#dm-ordering")).to_have_value("-tasks:id")
        expect(page.get_by_role("button", name="Rename view…")).to_have_count(0)
        page.get_by_role("button", name="Save view…").click()
        dialog = page.locator("#dm-view-save-dialog")
        dialog.get_by_label("Name").fill("My newest")
        _save(page, dialog)
        _expect_tabs(page, ["All tasks", "Newest", "My newest personal"])
        page.get_by_role("button", name="Delete view…").click()
        page.locator("#dm-view-delete-dialog").get_by_role("button", name="Delete view").click()
        page.wait_for_url(f"{live_server}{home}")
        _expect_tabs(page, ["All tasks", "Newest"])

        page.context.clear_cookies()
        _open(page, live_server, people["annotator2"], home)
        _expect_tabs(page, ["All tasks", "Newest"])
