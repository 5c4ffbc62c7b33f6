"""Role x action: every role gets exactly the answer its role allows, for every action."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from builders import RECT_CONFIG, box

ROLES = ["admin", "lead", "reviewer", "annotator"]


def _setup(client, people, project=None):
    """A fresh project of the lead's with all roles as members, three tasks, and objects to act on."""
    lead = people["lead"].headers
    project = client.post(
        "/api/projects", json={"title": "p", "label_config": RECT_CONFIG}, headers=lead
    ).json()
    for key in ("reviewer", "annotator", "annotator2"):
        client.post(
            f"/api/projects/{project['id']}/members", json={"user": people[key].id}, headers=lead
        )
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg"} for i in range(3)],
        headers=lead,
    ).json()["task_ids"]
    other = client.post(
        f"/api/tasks/{ids[0]}/annotations",
        json={"result": [box(1, 1, 2, 2)]},
        headers=people["annotator2"].headers,
    ).json()
    pred = client.post("/api/predictions", json={"task": ids[0], "result": []}, headers=lead).json()
    starred = client.post(
        f"/api/tasks/{ids[0]}/annotations",
        json={"result": [box(3, 3, 2, 2)]},
        headers=people["annotator2"].headers,
    ).json()
    r = client.patch(f"/api/annotations/{starred['id']}", json={"ground_truth": True}, headers=lead)
    assert r.status_code == 200, r.text
    return {
        "project": project["id"],
        "tasks": ids,
        "others_annotation": other["id"],
        "others_gt_annotation": starred["id"],
        "prediction": pred["id"],
        "reviewer": people["reviewer"].id,
    }


class Upload(dict):
    """A multipart body (field -> (name, bytes, type)) instead of JSON."""


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 3)).save(out, "PNG")
    return out.getvalue()


# action -> (request builder, expected status per role)
MATRIX = {
    "create project": (
        lambda x: ("POST", "/api/projects", {"title": "t", "label_config": RECT_CONFIG}),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "view project": (
        lambda x: ("GET", f"/api/projects/{x['project']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "change project": (
        lambda x: ("PATCH", f"/api/projects/{x['project']}", {"title": "new"}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "delete project": (
        lambda x: ("DELETE", f"/api/projects/{x['project']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
    "add member": (
        lambda x: ("POST", f"/api/projects/{x['project']}/members", {"user": 1}),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "import tasks": (
        lambda x: ("POST", f"/api/projects/{x['project']}/import", [{"image": "n.jpg"}]),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "upload images": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/images",
            Upload(file=("a.png", _png(), "image/png")),
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "list tasks": (
        lambda x: ("GET", f"/api/tasks?project={x['project']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "change task": (
        lambda x: ("PATCH", f"/api/tasks/{x['tasks'][1]}", {"data": {"image": "z.jpg"}}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "delete task": (
        lambda x: ("DELETE", f"/api/tasks/{x['tasks'][2]}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
    "create annotation": (
        lambda x: (
            "POST",
            f"/api/tasks/{x['tasks'][1]}/annotations",
            {"result": [box(1, 1, 2, 2)]},
        ),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 201},
    ),
    "create GT annotation": (
        lambda x: (
            "POST",
            f"/api/tasks/{x['tasks'][1]}/annotations",
            {"result": [], "ground_truth": True},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "view others' annotation": (
        lambda x: ("GET", f"/api/annotations/{x['others_annotation']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 404},
    ),
    "change others' annotation": (
        lambda x: ("PATCH", f"/api/annotations/{x['others_annotation']}", {"result": []}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 404},
    ),
    "delete others' annotation": (
        lambda x: ("DELETE", f"/api/annotations/{x['others_annotation']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 404},
    ),
    "change others' GT annotation": (
        lambda x: ("PATCH", f"/api/annotations/{x['others_gt_annotation']}", {"result": []}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 404},
    ),
    "delete others' GT annotation": (
        lambda x: ("DELETE", f"/api/annotations/{x['others_gt_annotation']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 404},
    ),
    "create prediction": (
        lambda x: ("POST", "/api/predictions", {"task": x["tasks"][1], "result": []}),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "view prediction": (
        lambda x: ("GET", f"/api/predictions/{x['prediction']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "delete prediction": (
        lambda x: ("DELETE", f"/api/predictions/{x['prediction']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
    "export": (
        lambda x: ("GET", f"/api/projects/{x['project']}/export?download_all_tasks=true", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "export formats": (
        lambda x: ("GET", f"/api/projects/{x['project']}/export/formats", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "create export snapshot": (
        lambda x: ("POST", f"/api/projects/{x['project']}/exports", {"title": "s"}),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 403},
    ),
    "list export snapshots": (
        lambda x: ("GET", f"/api/projects/{x['project']}/exports", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "model versions": (
        lambda x: ("GET", f"/api/projects/{x['project']}/model-versions", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "review others' annotation": (
        lambda x: (
            "POST",
            f"/api/annotations/{x['others_annotation']}/reviews",
            {"action": "reject", "comment": "no"},
        ),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 403},
    ),
    # Reviews are for annotators' work: a fix of the GT would rewrite the answer key, which is
    # changed by editing it (admin, lead), never by a review.
    "fix & accept a GT annotation": (
        lambda x: (
            "POST",
            f"/api/annotations/{x['others_gt_annotation']}/reviews",
            {"action": "fix_accept", "result": [box(5, 5, 2, 2)]},
        ),
        {"admin": 409, "lead": 409, "reviewer": 409, "annotator": 403},
    ),
    "see others' reviews": (
        lambda x: ("GET", f"/api/annotations/{x['others_annotation']}/reviews", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 404},
    ),
    "review stream": (
        lambda x: ("GET", f"/api/projects/{x['project']}/review/next?order=agreement", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "assign reviewers": (
        lambda x: (
            "POST",
            f"/api/dm/actions?id=assign_reviewers&project={x['project']}",
            {"selectedItems": {"all": True}, "reviewers": [x["reviewer"]]},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "dashboard": (
        lambda x: ("GET", f"/api/projects/{x['project']}/dashboard", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "scorecard csv": (
        lambda x: ("GET", f"/api/projects/{x['project']}/dashboard/annotators?format=csv", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "honeypot settings": (
        lambda x: ("GET", f"/api/projects/{x['project']}/honeypot-settings", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "change honeypot settings": (
        lambda x: ("PATCH", f"/api/projects/{x['project']}/honeypot-settings", {"per_job": 0}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "honeypot pool": (
        lambda x: ("GET", f"/api/projects/{x['project']}/honeypots", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "honeypot reports": (
        lambda x: ("GET", f"/api/projects/{x['project']}/honeypots/annotators", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "add to honeypots": (
        lambda x: (
            "POST",
            f"/api/dm/actions?id=add_to_honeypots&project={x['project']}",
            {"selectedItems": {"all": True}},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "sample ground truth": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/ground-truth/sample",
            {"count": 1, "seed": 1},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
}


@pytest.mark.parametrize("action", list(MATRIX))
def test_role_matrix(client, people, action):
    build, expected = MATRIX[action]
    answers = {}
    for role in ROLES:
        ids = _setup(client, people)  # fresh objects per role: deletes don't leak across
        method, path, body = build(ids)
        if isinstance(body, Upload):
            r = client.request(method, path, files=body, headers=people[role].headers)
        else:
            r = client.request(method, path, json=body, headers=people[role].headers)
        answers[role] = r.status_code
        if r.status_code >= 400:
            assert r.json()["detail"], r.text
    assert answers == expected


# What each role may do to its *own* annotation once a lead made it the task's ground truth
# (issue #16 M1): the answer key is changed by admins and leads only, not by its author.
OWN_GT_MATRIX = {
    "change": (
        lambda a: ("PATCH", f"/api/annotations/{a}", {"result": [box(5, 5, 2, 2)]}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "cancel": (
        lambda a: ("PATCH", f"/api/annotations/{a}", {"was_cancelled": True}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "delete": (
        lambda a: ("DELETE", f"/api/annotations/{a}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
}


@pytest.mark.parametrize("action", list(OWN_GT_MATRIX))
def test_own_annotation_once_it_is_ground_truth(client, people, action):
    build, expected = OWN_GT_MATRIX[action]
    answers = {}
    for role in ROLES:
        ids = _setup(client, people)
        mine = client.post(
            f"/api/tasks/{ids['tasks'][1]}/annotations",
            json={"result": [box(1, 1, 2, 2)]},
            headers=people[role].headers,
        ).json()["id"]
        r = client.patch(
            f"/api/annotations/{mine}", json={"ground_truth": True}, headers=people["lead"].headers
        )
        assert r.status_code == 200, r.text
        method, path, body = build(mine)
        r = client.request(method, path, json=body, headers=people[role].headers)
        answers[role] = r.status_code
        if r.status_code == 403:
            # an annotator is not told that her annotation is the GT (honeypots stay hidden)
            assert ("ground truth" in r.json()["detail"]) is (role != "annotator"), r.text
        gt = client.get(f"/api/annotations/{mine}", headers=people["lead"].headers)
        if r.status_code == 403:
            assert gt.json()["ground_truth"] is True and gt.json()["revision"] == 1
    assert answers == expected


def test_non_member_sees_nothing(client, people, project):
    ids = _setup(client, people, project)
    with_db_outsider = client.post(
        "/api/projects",
        json={"title": "other", "label_config": RECT_CONFIG},
        headers=people["admin"].headers,
    ).json()
    # the lead is no member of the admin's project: it does not exist for them
    assert (
        client.get(
            f"/api/projects/{with_db_outsider['id']}", headers=people["lead"].headers
        ).status_code
        == 404
    )
    assert with_db_outsider["id"] not in [
        p["id"]
        for p in client.get("/api/projects", headers=people["lead"].headers).json()["results"]
    ]
    # ... and an annotator of the lead's project cannot reach the admin's project's tasks
    assert (
        client.get(
            f"/api/tasks?project={with_db_outsider['id']}", headers=people["annotator"].headers
        ).status_code
        == 404
    )
    assert (
        client.get(f"/api/tasks/{ids['tasks'][0]}", headers=people["annotator"].headers).status_code
        == 200
    )


def test_annotator_never_sees_ground_truth_or_others(client, people, project):
    ids = _setup(client, people, project)
    lead = people["lead"].headers
    gt = client.post(
        f"/api/tasks/{ids['tasks'][0]}/annotations",
        json={"result": [box(1, 1, 3, 3)], "ground_truth": True},
        headers=lead,
    )
    assert gt.status_code == 201 and gt.json()["ground_truth"] is True
    ann = people["annotator"].headers
    own = client.post(
        f"/api/tasks/{ids['tasks'][0]}/annotations", json={"result": []}, headers=ann
    ).json()
    task = client.get(f"/api/tasks/{ids['tasks'][0]}", headers=ann).json()
    assert [a["id"] for a in task["annotations"]] == [own["id"]]
    assert all("ground_truth" not in a for a in task["annotations"])
    listed = client.get(f"/api/tasks?project={ids['project']}", headers=ann).json()
    assert listed["total_annotations"] == 1
    assert all(
        a["completed_by"] == people["annotator"].id
        for t in listed["tasks"]
        for a in t["annotations"]
    )


def test_annotators_get_no_ground_truth_counts(client, people):
    ids = _setup(client, people)
    for role, sees in (("annotator", False), ("reviewer", True), ("lead", True)):
        body = client.get(f"/api/projects/{ids['project']}", headers=people[role].headers).json()
        assert ("ground_truth_number" in body) is sees and (
            "ground_truth_coverage" in body
        ) is sees, role
        listed = client.get("/api/projects", headers=people[role].headers).json()["results"][0]
        assert ("done_number" in listed) is sees, role


def test_every_api_route_refuses_a_bad_token(app, client):
    """Every endpoint but health and version answers 401 to a wrong token, whatever it does
    (or forgets to do) after: authentication cannot be left out by one endpoint."""
    public = {"/health", "/api/version"}
    checked = 0
    for path, methods in app.openapi()["paths"].items():
        if path in public:
            continue
        concrete = path.replace("{path}", "x.png")
        while "{" in concrete:
            start = concrete.index("{")
            concrete = concrete[:start] + "1" + concrete[concrete.index("}", start) + 1 :]
        for method in methods:
            r = client.request(
                method.upper(),
                concrete,
                headers={"Authorization": "Token not-a-real-token"},
                json={},
            )
            assert r.status_code == 401, (method, path, r.status_code)
            checked += 1
    assert checked > 40
