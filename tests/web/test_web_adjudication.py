"""The adjudication page and the consensus parts of the project, task and job pages,
server-rendered: who gets the page, what it hands its script, the project header's
"Adjudication (N waiting)" link and Consensus… dialog, the task page's consensus entry. The
clicking itself is in test_web_adjudication_browser.py."""

from __future__ import annotations

import json
import re

import pytest

from assay.services.consensus import WEIGHTINGS
from builders import ELEPHANT, GIRAFFE, ZEBRA, import_tasks, merge
from builders import ParsedPage as _Page


@pytest.fixture
def tied(client, people, project) -> dict:
    """t0: the annotators tie on the label of one box and agree on a giraffe; t1: they agree.
    Merged: t0 waits for adjudication, t1 is merged."""
    a1, a2 = people["annotator"].id, people["annotator2"].id
    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/0.png"},
            "annotations": [
                {"result": [ZEBRA, GIRAFFE], "completed_by": a1},
                {"result": [ELEPHANT, GIRAFFE], "completed_by": a2},
            ],
        },
        {
            "data": {"image": f"/data/media/project-{project['id']}/1.png"},
            "annotations": [
                {"result": [GIRAFFE], "completed_by": a1},
                {"result": [GIRAFFE], "completed_by": a2},
            ],
        },
    ]
    ids = import_tasks(client, people["lead"], project["id"], items)
    result = merge(client, people["lead"], project["id"])
    assert (result["merged"], result["adjudicate"]) == (1, 1)
    return {"project": project["id"], "tasks": ids}


def test_lead_gets_the_adjudication_page_with_its_start(signed_in, people, tied):
    r = signed_in(people["lead"]).get(f"/projects/{tied['project']}/adjudication")
    assert r.status_code == 200
    assert re.search(r'id="adj-remaining"[^>]*>1 waiting<', r.text)
    config = json.loads(_Page(r.text).json_scripts["adjudication-config"])
    assert config["control"] == {"from_name": "label", "to_name": "image"}
    assert [label["name"] for label in config["labels"]] == ["Elephant", "Zebra", "Giraffe"]
    assert config["image_key"] == "image"
    assert config["urls"] == {
        "next": f"/api/projects/{tied['project']}/adjudication/next",
        "adjudicate": "/api/tasks/{task}/adjudicate",
        "project": f"/projects/{tied['project']}",
    }
    assert config["people"][str(people["annotator2"].id)] == "annotator2@example.com"
    # the shared editor modules, then the page's script; the shortcuts are listed
    scripts = re.findall(r'src="/static/([a-z_]+\.js)', r.text)
    assert scripts[-3:] == ["editor_boxes.js", "editor_tabs.js", "adjudication.js"]
    assert "Save as GT" in r.text and "save as GT, next task" in r.text


@pytest.mark.parametrize("who", ["reviewer", "annotator"])
def test_only_leads_and_admins_adjudicate(signed_in, people, tied, who):
    r = signed_in(people[who]).get(f"/projects/{tied['project']}/adjudication")
    assert r.status_code == 403
    assert "Not allowed" in r.text and "adjudication-config" not in r.text
    project = signed_in(people[who]).get(f"/projects/{tied['project']}").text
    assert "adjudication-link" not in project and "dm-consensus" not in project


def test_admin_adjudicates_and_an_empty_queue_says_so(signed_in, people, project):
    r = signed_in(people["admin"]).get(f"/projects/{project['id']}/adjudication")
    assert r.status_code == 200
    assert re.search(r'id="adj-remaining"[^>]*>0 waiting<', r.text)
    assert "Nothing waits for adjudication" in r.text  # the finished state, shown by the script


def test_a_project_the_editor_cannot_edit_explains_why_not(signed_in, client, people):
    config = '<View><Image name="image" value="$image"/><BrushLabels name="c" toName="image">' \
        '<Label value="a"/></BrushLabels></View>'  # fmt: skip
    r = client.post(
        "/api/projects/", json={"title": "Classes", "label_config": config},
        headers=people["lead"].headers,
    )  # fmt: skip
    r = signed_in(people["lead"]).get(f"/projects/{r.json()['id']}/adjudication")
    assert r.status_code == 409
    assert "no control the editor supports" in r.text and "adjudication-config" not in r.text


def test_project_page_links_the_queue_and_offers_the_merge_form(signed_in, people, tied):
    r = signed_in(people["lead"]).get(f"/projects/{tied['project']}")
    assert r.status_code == 200
    link = re.search(r'<a href="([^"]+)" id="adjudication-link">(.*?)</a>', r.text)
    assert link and link.group(1) == f"/projects/{tied['project']}/adjudication"
    assert re.sub(r"<[^>]+>", "", link.group(2)) == "Adjudication (1 waiting) →"
    assert 'id="dm-consensus"' in r.text and 'id="dm-consensus-dialog"' in r.text
    weightings = re.findall(r'<option value="(\w+)" data-title="(Uniform|Accuracy|Dawid)', r.text)
    assert [w for w, _ in weightings] == list(WEIGHTINGS)
    auto = re.search(r'<input type="number" name="auto_accept_at"[^>]*>', r.text)
    assert auto and "disabled" in auto.group(0)  # auto-accept is off by default
    urls = json.loads(_Page(r.text).json_scripts["dm-consensus-urls"])
    assert urls["merge"] == f"/api/projects/{tied['project']}/consensus/merge"
    assert urls["job"] == "/api/background-jobs/{job}"
    assert urls["preview"] == f"/api/projects/{tied['project']}/consensus/preview"
    assert "dm_consensus.js" in r.text


def test_task_page_lists_the_consensus_with_status_and_agreement(signed_in, client, people, tied):
    t0, t1 = tied["tasks"]
    lead = people["lead"]
    c0 = client.get(f"/api/tasks/{t0}/consensus", headers=lead.headers).json()
    page = signed_in(lead).get(f"/tasks/{t0}").text
    entry = re.search(
        rf'data-source="annotation-{c0["annotation"]["id"]}".*?</button>', page, re.S
    ).group(0)
    text = " ".join(re.sub(r"<[^>]+>", " ", entry.split(">", 1)[1]).split())
    agreement = f"consensus support {100 * c0['agreement']:.0f} %"
    assert text.startswith("Consensus adjudicate tied vote") and text.endswith(agreement)
    # the reviewer reads it too; after adjudication it says so
    r = client.post(f"/api/tasks/{t0}/adjudicate", json={"result": [ZEBRA]}, headers=lead.headers)
    assert r.status_code == 201, r.text
    page = signed_in(people["reviewer"]).get(f"/tasks/{t0}").text
    assert 'data-consensus-status="adjudicated"' in page
    merged = signed_in(people["reviewer"]).get(f"/tasks/{t1}").text
    assert 'data-consensus-status="merged"' in merged and "tied vote" not in merged
    # annotators see only their own annotations: no consensus entry
    own = signed_in(people["annotator"]).get(f"/tasks/{t0}").text
    assert "Consensus" not in own and "data-consensus-status" not in own
