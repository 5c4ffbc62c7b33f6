"""The dashboard page, server-rendered: who sees it, its tables (readable without JS), the
scorecard link, and plotly served from the installed package. The charts themselves are drawn
in test_web_review_browser.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builders import REPO, box, import_tasks
from builders import ParsedPage as _Page


@pytest.fixture
def scored(client, people, project) -> dict:
    """Two tasks with a lead's GT, both annotators, and a model on each."""
    a1, a2, lead = people["annotator"].id, people["annotator2"].id, people["lead"].id
    truth = [box(10, 10, 20, 20, "Elephant"), box(50, 50, 20, 20, "Zebra")]
    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/{i}.png"},
            "annotations": [
                {"result": truth, "completed_by": lead, "ground_truth": True},
                {"result": truth, "completed_by": a1},
                {"result": truth[:1], "completed_by": a2},
            ],
            "predictions": [{"model_version": "det-v2", "score": 0.9, "result": truth[1:]}],
        }
        for i in range(2)
    ]
    return {
        "project": project["id"],
        "tasks": import_tasks(client, people["lead"], project["id"], items),
    }


def _tables(html: str) -> dict[str, str]:
    """Each <table id=...> of the page, as its raw HTML."""
    out = {}
    for part in html.split("<table")[1:]:
        head, _, rest = part.partition(">")
        if 'id="' in head:
            out[head.split('id="')[1].split('"')[0]] = rest.split("</table>")[0]
    return out


@pytest.mark.parametrize("role", ["reviewer", "lead", "admin"])
def test_dashboard_tables_read_without_js(signed_in, people, scored, role):
    r = signed_in(people[role]).get(f"/projects/{scored['project']}/dashboard")
    assert r.status_code == 200
    tables = _tables(r.text)
    assert set(tables) == {
        "dash-work-table", "dash-annotator-table", "dash-agreement-table", "dash-weeks-table",
        "dash-confusion-table", "dash-models-table", "dash-drift-table",
    }  # fmt: skip
    people_rows = _Page("<table>" + tables["dash-annotator-table"] + "</table>").records
    by_email = {row["Annotator"]: row for row in people_rows}
    assert by_email["annotator@example.com"]["Accuracy"].startswith("100.0 %")
    assert by_email["annotator2@example.com"]["Accuracy"].startswith("50.0 %")
    assert by_email["annotator@example.com"]["Scored"] == "2"
    assert "lead@example.com" not in by_email  # the GT's author is not scored as an annotator
    assert "annotator2@example.com" in tables["dash-agreement-table"]
    assert "det-v2" in tables["dash-models-table"] and "Zebra" in tables["dash-confusion-table"]
    # the page's data is the API's, for the charts
    data = json.loads(_Page(r.text).json_scripts["dash-data"])
    assert [m["model_version"] for m in data["models"]] == ["det-v2"]
    assert f'href="/api/projects/{scored["project"]}/dashboard/annotators?format=csv"' in r.text
    assert '<script src="/static-lib/plotly.min.js?v=' in r.text
    # plotly needs inline styles: allowed on this page only
    assert "style-src 'self' 'unsafe-inline'" in r.headers["content-security-policy"]
    assert r.headers["cache-control"] == "no-store"
    project_page = signed_in(people[role]).get(f"/projects/{scored['project']}")
    assert "unsafe-inline" not in project_page.headers["content-security-policy"]


def test_plotly_is_served_from_the_installed_package_with_long_caching(client):
    import plotly

    r = client.get(f"/static-lib/plotly.min.js?v={plotly.__version__}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert (
        "max-age=31536000" in r.headers["cache-control"]
        and "immutable" in r.headers["cache-control"]
    )
    bundled = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    assert r.content == bundled.read_bytes()
    repo = REPO / "src"
    assert not list(repo.rglob("plotly*.js"))  # never copied into the repo


def test_empty_project_dashboard_says_what_is_missing(signed_in, people, project):
    r = signed_in(people["lead"]).get(f"/projects/{project['id']}/dashboard")
    assert r.status_code == 200
    assert "No annotations yet." in r.text
    assert "Pairwise agreement needs two or more annotators" in r.text
    assert "No model predictions scored against ground truth yet." in r.text


def test_time_on_task_table(client, signed_in, people, project):
    lead = people["lead"]
    r = client.patch(f"/api/projects/{project['id']}", json={"hourly_rate": 36},
                     headers=lead.headers)  # fmt: skip
    assert r.status_code == 200
    [task] = import_tasks(client, lead, project["id"], [{"data": {"image": "a.png"}}])
    r = client.post(
        f"/api/tasks/{task}/annotations",
        json={"result": [box(1, 1, 5, 5), box(20, 20, 5, 5)], "lead_time": 80, "active_time": 60},
        headers=people["annotator"].headers,
    )
    r = client.post(f"/api/annotations/{r.json()['id']}/reviews", json={"action": "accept"},
                    headers=lead.headers)  # fmt: skip
    assert r.status_code == 201
    page = signed_in(lead).get(f"/projects/{project['id']}/dashboard").text
    [row] = _Page("<table>" + _tables(page)["dash-time-table"] + "</table>").records
    # 60 s of 80 s active; 2 objects a minute; 36 an hour x 60 s = 0.60 over 2 objects
    assert (row["Active time"], row["Wall time"], row["Active share"]) == ("60 s", "80 s", "75.0 %")
    assert (row["Objects / min"], row["Cost / accepted object"]) == ("2.00", "0.30")
    assert "36 an hour" in page
