"""What a newcomer hit in Chromium (issue #17 item 8): pages use the screen's width, the site
has a favicon."""

from __future__ import annotations

import chromium
from builders import box, import_tasks
from chromium import sign_in

pytestmark = chromium.marks


def test_the_scorecard_shows_every_column_at_1440_px(live_server, client, people, project):
    a1, a2, lead = people["annotator"].id, people["annotator2"].id, people["lead"].id
    truth = [box(10, 10, 20, 20, "Elephant"), box(50, 50, 20, 20, "Zebra")]
    import_tasks(
        client,
        people["lead"],
        project["id"],
        [
            {
                "data": {"image": "data:image/gif;base64,R0lGODlhAQABAAAAACw="},
                "annotations": [
                    {"result": truth, "completed_by": lead, "ground_truth": True},
                    {"result": truth, "completed_by": a1},
                    {"result": truth[:1], "completed_by": a2},
                ],
            }
        ],
    )
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}/dashboard")
        # two tables (work and review; scores), each whole at 1440 px
        columns = {
            "#dash-work-table": ("Annotations", "Rejected", "To acceptance"),
            "#dash-annotator-table": ("F1", "Agreement", "Honeypots", "GT accuracy"),
        }
        for selector, names in columns.items():
            for name in names:
                cell = page.locator(selector).locator("th", has_text=name).first
                box_ = cell.bounding_box()
                assert box_ is not None and box_["x"] + box_["width"] <= 1440, (name, box_)
        scrollers = page.locator("#dash-annotators .scroll")
        assert scrollers.count() == 2
        for i in range(2):
            fits = scrollers.nth(i).evaluate("s => s.scrollWidth <= s.clientWidth")
            assert fits, f"table {i + 1} needs a side scroll"
        chromium.shot(page, "dashboard-1440")


def test_every_page_has_a_favicon(live_server, people):
    with chromium.new_page(1000, 700) as page:
        sign_in(page, live_server, people["lead"], "/")
        href = page.get_attribute("link[rel=icon]", "href")
        r = page.request.get(f"{live_server}{href}")
        assert r.status == 200 and r.headers["content-type"].startswith("image/svg+xml")
