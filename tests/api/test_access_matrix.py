"""Role x action: every role gets exactly the answer its role allows, for every action."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from assay.services import background
from builders import RECT_CONFIG, aliases_of, box

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
    job = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "j", "task_ids": ids[:2], "assignees": [people["annotator"].id]},
        headers=lead,
    )
    assert job.status_code == 201, job.text
    in_job = []
    aliases = aliases_of(client, people["lead"], people["annotator"], job.json()["id"])
    for task in ids[:2]:  # the job is fully annotated: its GT stage and hand-in are open
        r = client.post(
            f"/api/tasks/{aliases[task]}/annotations",
            json={"result": [box(1, 1, 2, 2)], "job": job.json()["id"]},
            headers=people["annotator"].headers,
        )
        assert r.status_code == 201, r.text
        in_job.append(r.json()["id"])
    r = client.post(
        f"/api/dm/actions?id=add_to_honeypots&project={project['id']}",
        json={"selectedItems": {"all": False, "included": [ids[0]]}},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    review = client.post(
        f"/api/annotations/{in_job[0]}/reviews",
        json={"action": "accept"},
        headers=lead,
    )
    assert review.status_code == 201, review.text
    snapshot = client.post(
        f"/api/projects/{project['id']}/exports", json={"title": "s"}, headers=lead
    )
    assert snapshot.status_code == 201, snapshot.text
    background.drain_thread_queue(timeout=60)  # the snapshot is built: it can be downloaded
    r = client.post(
        f"/api/dm/actions?id=assign_reviewers&project={project['id']}",
        json={"selectedItems": {"all": True}, "reviewers": [people["reviewer"].id]},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    recompute = client.post(f"/api/projects/{project['id']}/quality/recompute", headers=lead)
    assert recompute.status_code == 202, recompute.text
    background.drain_thread_queue(timeout=60)  # the recompute is done: cancelling it is a 409
    views = {}
    for key, who, scope in (
        ("project_view", "lead", "project"),
        ("personal_view", "annotator2", "personal"),
    ):
        r = client.post(
            "/api/dm/views",
            json={"project": project["id"], "scope": scope, "data": {"title": key}},
            headers=people[who].headers,
        )
        assert r.status_code == 201, r.text
        views[key] = r.json()["id"]
    for body in ({"markdown": "v1"}, {"markdown": "v2", "recheck": "all"}):  # v2 is in force
        r = client.post(f"/api/projects/{project['id']}/guidelines", json=body, headers=lead)
        assert r.status_code == 201, r.text
    edge_case = client.post(
        f"/api/tasks/{ids[2]}/edge-cases", json={"comment": "?"}, headers=people["reviewer"].headers
    )
    assert edge_case.status_code == 201, edge_case.text
    return {
        **views,
        "edge_case": edge_case.json()["id"],
        "aliases": aliases,  # the ids the annotator knows the job's tasks by
        "job": job.json()["id"],
        "annotators_job_work": in_job,
        "review": review.json()["id"],
        "export": snapshot.json()["id"],
        "background_job": recompute.json()["id"],
        "project": project["id"],
        "tasks": ids,
        "others_annotation": other["id"],
        "others_gt_annotation": starred["id"],
        "prediction": pred["id"],
        "reviewer": people["reviewer"].id,
        "annotator2": people["annotator2"].id,
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
        # 404: the project works in jobs, and the task is in none of the annotator's
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 404},
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
    "whoami": (
        lambda x: ("GET", "/api/current-user/whoami", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "list projects": (
        lambda x: ("GET", "/api/projects", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "list members": (
        lambda x: ("GET", f"/api/projects/{x['project']}/members", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "remove member": (
        lambda x: ("DELETE", f"/api/projects/{x['project']}/members/{x['reviewer']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
    "view export snapshot": (
        lambda x: ("GET", f"/api/projects/{x['project']}/exports/{x['export']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "download export snapshot": (
        lambda x: ("GET", f"/api/projects/{x['project']}/exports/{x['export']}/download", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "delete export snapshot": (
        lambda x: ("DELETE", f"/api/projects/{x['project']}/exports/{x['export']}", None),
        {"admin": 204, "lead": 204, "reviewer": 204, "annotator": 403},
    ),
    "create task": (
        lambda x: ("POST", "/api/tasks", {"project": x["project"], "data": {"image": "c.jpg"}}),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "view task": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "list task annotations": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}/annotations", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "annotation revisions": (
        lambda x: ("GET", f"/api/annotations/{x['others_annotation']}/revisions", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 404},
    ),
    "list predictions": (
        lambda x: ("GET", f"/api/predictions?project={x['project']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "change prediction": (
        lambda x: ("PATCH", f"/api/predictions/{x['prediction']}", {"score": 0.5}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "import predictions": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/import/predictions",
            [{"task": x["tasks"][1], "result": []}],
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "list saved views": (
        lambda x: ("GET", f"/api/dm/views?project={x['project']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "create personal view": (
        lambda x: ("POST", "/api/dm/views", {"project": x["project"], "data": {"title": "m"}}),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 201},
    ),
    "create project-wide view": (
        lambda x: (
            "POST",
            "/api/dm/views",
            {"project": x["project"], "scope": "project", "data": {"title": "all"}},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "view project-wide view": (
        lambda x: ("GET", f"/api/dm/views/{x['project_view']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "view another's personal view": (
        lambda x: ("GET", f"/api/dm/views/{x['personal_view']}", None),
        {"admin": 404, "lead": 404, "reviewer": 404, "annotator": 404},
    ),
    "change project-wide view": (
        lambda x: ("PATCH", f"/api/dm/views/{x['project_view']}", {"data": {"title": "n"}}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "delete project-wide view": (
        lambda x: ("DELETE", f"/api/dm/views/{x['project_view']}", None),
        {"admin": 204, "lead": 204, "reviewer": 403, "annotator": 403},
    ),
    "tasks of a saved view": (
        lambda x: ("GET", f"/api/tasks?project={x['project']}&view={x['project_view']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "list data manager actions": (
        lambda x: ("GET", f"/api/dm/actions?project={x['project']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "ground truth history": (
        lambda x: ("GET", f"/api/projects/{x['project']}/ground-truth/history", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "ground truth suspects": (
        lambda x: ("GET", f"/api/projects/{x['project']}/ground-truth/suspects", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "ground truth suspect decisions": (
        lambda x: ("GET", f"/api/projects/{x['project']}/ground-truth/suspects/decisions", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "dismiss a suspect": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/ground-truth/suspects/1-missing-abc/dismiss",
            {"reason": "fine"},
        ),
        # 404 "Suspect not found": past the role check
        {"admin": 404, "lead": 404, "reviewer": 403, "annotator": 403},
    ),
    "confirm a suspect": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/ground-truth/suspects/1-missing-abc/confirm",
            {},
        ),
        {"admin": 404, "lead": 404, "reviewer": 403, "annotator": 403},
    ),
    "create job": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/jobs",
            {"title": "n", "task_ids": x["tasks"][:1]},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "create job from a data manager selection": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/jobs",
            {"title": "n", "selectedItems": {"all": False, "included": x["tasks"][:1]}},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "list jobs": (
        lambda x: ("GET", f"/api/projects/{x['project']}/jobs", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "view job": (
        lambda x: ("GET", f"/api/jobs/{x['job']}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "change job": (
        lambda x: ("PATCH", f"/api/jobs/{x['job']}", {"title": "renamed"}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "next task of a job": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/next", None),
        # 400, not 403: not being an assignee is answered as an invalid "job" field
        {"admin": 400, "lead": 400, "reviewer": 400, "annotator": 200},
    ),
    "ground truth stage next": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/ground-truth/next", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "ground truth stage previous": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/ground-truth/previous", None),
        # 404 "No earlier task": past the role check, nothing done yet in the stage
        {"admin": 404, "lead": 404, "reviewer": 403, "annotator": 403},
    ),
    "ground truth done": (
        lambda x: (
            "POST",
            f"/api/tasks/{x['tasks'][1]}/ground-truth/done",
            {"job": x["job"], "result": []},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "reopen a done task": (
        lambda x: ("POST", f"/api/tasks/{x['tasks'][1]}/ground-truth/reopen", None),
        # 409 "Task is not done.": past the role check
        {"admin": 409, "lead": 403, "reviewer": 403, "annotator": 403},
    ),
    "references of a task": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}/references", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality by annotator": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/annotators", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality by model": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/models", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality by job": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/jobs", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality by label": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/labels", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "confusion": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/confusion", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "agreement": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/agreement", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "conflict groups": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/conflict-groups", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "conflict decisions": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality/conflict-decisions", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "decide on a conflict group": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/quality/conflict-decisions",
            {"group": "label_pair/extra//Giraffe", "decision": "gt_error"},
        ),
        # 404 "No conflicts are in group": past the role check
        {"admin": 404, "lead": 404, "reviewer": 403, "annotator": 403},
    ),
    "quality settings": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality-settings", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "quality settings history": (
        lambda x: ("GET", f"/api/projects/{x['project']}/quality-settings/history", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "change quality settings": (
        lambda x: (
            "PATCH",
            f"/api/projects/{x['project']}/quality-settings",
            {"iou_threshold": 0.6},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "recompute quality": (
        lambda x: ("POST", f"/api/projects/{x['project']}/quality/recompute", None),
        {"admin": 202, "lead": 202, "reviewer": 403, "annotator": 403},
    ),
    "background job": (
        lambda x: ("GET", f"/api/background-jobs/{x['background_job']}", None),
        # A project's job results are for who may read quality (or who ran the job): an
        # annotator read a recompute's, merge's or export's result before (#16, found by the
        # full matrix).
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 404},
    ),
    "cancel background job": (
        lambda x: ("POST", f"/api/background-jobs/{x['background_job']}/cancel", None),
        # the lead's recompute is done by now: who may cancel it learns that (409)
        {"admin": 409, "lead": 409, "reviewer": 403, "annotator": 404},
    ),
    "quality of others' annotation": (
        lambda x: ("GET", f"/api/annotations/{x['others_annotation']}/quality", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 404},
    ),
    "task agreement": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}/agreement", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "undo another's review": (
        lambda x: ("POST", f"/api/reviews/{x['review']}/undo", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "task reviewers": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}/reviewers", None),
        {
            "admin": 200,
            "lead": 200,
            "reviewer": 200,
            "annotator": 404,
        },  # staff routes take real ids: her alias names none,
    ),
    "unassign a reviewer": (
        lambda x: ("DELETE", f"/api/tasks/{x['tasks'][0]}/reviewers/{x['reviewer']}", None),
        {
            "admin": 204,
            "lead": 204,
            "reviewer": 403,
            "annotator": 404,
        },  # staff routes take real ids: her alias names none,
    ),
    "change a honeypot": (
        lambda x: (
            "PATCH",
            f"/api/projects/{x['project']}/honeypots/{x['tasks'][0]}",
            {"difficulty": "hard"},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "honeypot pool health": (
        lambda x: ("GET", f"/api/projects/{x['project']}/honeypots/health", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "a job's honeypots": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/honeypots", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "reroll a job's honeypots": (
        lambda x: ("POST", f"/api/jobs/{x['job']}/honeypots/reroll", None),
        # 409 "Job has started": past the role check
        {"admin": 409, "lead": 409, "reviewer": 403, "annotator": 403},
    ),
    "submit a job": (
        lambda x: ("POST", f"/api/jobs/{x['job']}/submit", None),
        # 400, not 403: a non-assignee's hand-in is answered as an invalid "job" field
        {"admin": 400, "lead": 400, "reviewer": 400, "annotator": 200},
    ),
    "accept a job": (
        lambda x: ("POST", f"/api/jobs/{x['job']}/accept", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "reopen a job": (
        lambda x: ("DELETE", f"/api/jobs/{x['job']}/accept", None),
        # 409 "not accepted": past the role check
        {"admin": 409, "lead": 409, "reviewer": 403, "annotator": 403},
    ),
    "review settings": (
        lambda x: ("GET", f"/api/projects/{x['project']}/review-settings", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "change review settings": (
        lambda x: (
            "PATCH",
            f"/api/projects/{x['project']}/review-settings",
            {"reject_returns_to_annotator": False},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "job feedback": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/feedback", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "job submissions": (
        lambda x: ("GET", f"/api/jobs/{x['job']}/submissions", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "merge consensus": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/consensus/merge",
            {"tasks": x["tasks"][:1]},
        ),
        {"admin": 202, "lead": 202, "reviewer": 403, "annotator": 403},
    ),
    "preview consensus": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/consensus/preview",
            {"tasks": x["tasks"][:1]},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "task consensus": (
        lambda x: ("GET", f"/api/tasks/{x['tasks'][0]}/consensus", None),
        {
            "admin": 200,
            "lead": 200,
            "reviewer": 200,
            "annotator": 404,
        },  # staff routes take real ids: her alias names none,
    ),
    "remove consensus": (
        lambda x: ("DELETE", f"/api/tasks/{x['tasks'][0]}/consensus", None),
        # 404 "Task has no consensus.": past the role check
        {
            "admin": 404,
            "lead": 404,
            "reviewer": 403,
            "annotator": 404,
        },  # staff routes take real ids: her alias names none,
    ),
    "evaluation settings": (
        lambda x: ("GET", f"/api/projects/{x['project']}/evaluation-settings", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "change evaluation settings": (
        lambda x: (
            "PATCH",
            f"/api/projects/{x['project']}/evaluation-settings",
            {"method": "ongoing"},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "annotators' evaluation": (
        lambda x: ("GET", f"/api/projects/{x['project']}/evaluation", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "pause an annotator": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/members/{x['annotator2']}/pause",
            {"reason": "too many misses"},
        ),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "unpause an annotator": (
        lambda x: ("DELETE", f"/api/projects/{x['project']}/members/{x['annotator2']}/pause", None),
        # 409 "not paused": past the role check
        {"admin": 409, "lead": 409, "reviewer": 403, "annotator": 403},
    ),
    "pauses": (
        lambda x: ("GET", f"/api/projects/{x['project']}/pauses", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "model drift": (
        # 400 "model_version is required": past the role check (no scored prediction)
        lambda x: ("GET", f"/api/projects/{x['project']}/drift", None),
        {"admin": 400, "lead": 400, "reviewer": 400, "annotator": 403},
    ),
    "drift settings": (
        lambda x: ("GET", f"/api/projects/{x['project']}/drift-settings", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "change drift settings": (
        lambda x: ("PATCH", f"/api/projects/{x['project']}/drift-settings", {"psi_threshold": 0.3}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "audits": (
        lambda x: ("GET", f"/api/projects/{x['project']}/audits", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "start an audit": (
        # 400 "size": no task has a scored prediction; past the role check
        lambda x: ("POST", f"/api/projects/{x['project']}/audits", {"size": 1}),
        {"admin": 400, "lead": 400, "reviewer": 403, "annotator": 403},
    ),
    "send field feedback": (
        lambda x: ("POST", f"/api/tasks/{x['tasks'][0]}/feedback", {"kind": "other"}),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 201},
    ),
    "field feedback": (
        lambda x: ("GET", f"/api/projects/{x['project']}/feedback", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "next to adjudicate": (
        lambda x: ("GET", f"/api/projects/{x['project']}/adjudication/next", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "adjudicate": (
        lambda x: ("POST", f"/api/tasks/{x['tasks'][0]}/adjudicate", {"result": []}),
        # 409 "not waiting for adjudication": past the role check
        {
            "admin": 409,
            "lead": 409,
            "reviewer": 403,
            "annotator": 404,
        },  # staff routes take real ids: her alias names none,
    ),
    "guidelines": (
        lambda x: ("GET", f"/api/projects/{x['project']}/guidelines", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "publish a guideline version": (
        lambda x: ("POST", f"/api/projects/{x['project']}/guidelines", {"markdown": "v3"}),
        {"admin": 201, "lead": 201, "reviewer": 403, "annotator": 403},
    ),
    "an earlier guideline version": (
        lambda x: ("GET", f"/api/projects/{x['project']}/guidelines/1", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "the guideline version in force": (
        lambda x: ("GET", f"/api/projects/{x['project']}/guidelines/2", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "mark the guideline read": (
        lambda x: ("POST", f"/api/projects/{x['project']}/guidelines/read", {}),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "guideline re-check queue": (
        lambda x: ("GET", f"/api/projects/{x['project']}/guidelines/recheck", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "the next task to re-check": (
        lambda x: ("GET", f"/api/projects/{x['project']}/guidelines/recheck/next", None),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "resolve a re-check": (
        lambda x: (
            "POST",
            f"/api/projects/{x['project']}/guidelines/recheck/{x['tasks'][0]}",
            {"confirm": True},
        ),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "flag an edge case": (
        lambda x: ("POST", f"/api/tasks/{x['tasks'][0]}/edge-cases", {"comment": "?"}),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 201},
    ),
    "edge cases": (
        lambda x: ("GET", f"/api/projects/{x['project']}/edge-cases", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "answer an edge case": (
        lambda x: ("POST", f"/api/edge-cases/{x['edge_case']}/answer", {"answer": "one box"}),
        # the reviewer's own entry: she reads it, only staff answer; for annotators it is unknown
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 404},
    ),
    "resolve an edge case": (
        lambda x: ("POST", f"/api/edge-cases/{x['edge_case']}/resolve", {"guideline_version": 2}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 404},
    ),
}


def _as_seen_by(ids: dict, role: str) -> dict:
    """The objects of `_setup` by the ids `role` knows them by: the annotator knows the tasks
    of their job by aliases (a real id of those answers 404 to them)."""
    if role != "annotator":
        return ids
    return {**ids, "tasks": [ids["aliases"].get(t, t) for t in ids["tasks"]]}


READS = ("GET", "HEAD")  # the roles' reads change nothing: they share one set of objects


@pytest.mark.parametrize("action", list(MATRIX))
def test_role_matrix(client, people, action):
    build, expected = MATRIX[action]
    answers, details = {}, {}
    ids = _setup(client, people)
    for i, role in enumerate(ROLES):
        method, path, body = build(_as_seen_by(ids, role))
        if i and method not in READS:  # a write: fresh objects, so deletes don't leak across
            ids = _setup(client, people)
            method, path, body = build(_as_seen_by(ids, role))
        if isinstance(body, Upload):
            r = client.request(method, path, files=body, headers=people[role].headers)
        else:
            r = client.request(method, path, json=body, headers=people[role].headers)
        answers[role] = r.status_code
        if r.status_code >= 400:
            assert r.json()["detail"], r.text
            details[role] = r.json()["detail"]
    assert answers == expected, f"{method} {path}: {answers} {details}"


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
        ids = _as_seen_by(_setup(client, people), role)
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
    seen = _as_seen_by(ids, "annotator")["tasks"][0]
    assert client.get(f"/api/tasks/{seen}", headers=people["annotator"].headers).status_code == 200
    # the real id of a task of her job is unknown to her, as a task she may not see
    real = client.get(f"/api/tasks/{ids['tasks'][0]}", headers=people["annotator"].headers)
    assert (real.status_code, real.json()["detail"]) == (404, f"Task {ids['tasks'][0]} not found.")


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
    seen = _as_seen_by(ids, "annotator")["tasks"][0]
    own = client.post(f"/api/tasks/{seen}/annotations", json={"result": []}, headers=ann).json()
    task = client.get(f"/api/tasks/{seen}", headers=ann).json()
    # the annotator's own two: one in her job (from _setup), one just now
    assert [a["id"] for a in task["annotations"]] == [ids["annotators_job_work"][0], own["id"]]
    assert all("ground_truth" not in a for a in task["annotations"])
    listed = client.get(f"/api/tasks?project={ids['project']}", headers=ann).json()
    assert listed["total_annotations"] == 3  # her job's two and this one
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


_USERS = "tests/api/test_users_admin.py::test_role_action_matrix"

# Operations whose role answers are asserted by another test, not by MATRIX: (METHOD, path
# template) -> "the test -- what it checks".
ELSEWHERE = {
    ("GET", "/health"): "public: test_every_api_route_refuses_a_bad_token lists it as public",
    ("GET", "/api/version"): "public: test_every_api_route_refuses_a_bad_token lists it as public",
    ("GET", "/api/users"): f"{_USERS} -- list users: admin, lead 200; reviewer, annotator 403",
    ("POST", "/api/users"): f"{_USERS} -- create user: admin 201; everyone else 403",
    ("GET", "/api/users/{user_id}"): f"{_USERS} -- view another user / oneself",
    ("PATCH", "/api/users/{user_id}"): f"{_USERS} -- rename, change role: self or admin",
    ("DELETE", "/api/users/{user_id}"): f"{_USERS} -- deactivate: admin only",
    ("POST", "/api/current-user/password"): f"{_USERS} -- change one's password: every role",
    ("POST", "/api/current-user/reset-token"): (
        "tests/api/test_access_matrix.py::test_everyone_resets_their_own_token_only"
        " -- every role 200, for itself"
    ),
    ("GET", "/data/media/{path}"): (
        "tests/api/test_media_and_cli.py::test_media_files_are_as_private_as_their_projects"
        " -- only who may see a task showing the file; test_media_scope.py for task scope"
    ),
    ("GET", "/data/thumbnails/{path}"): (
        "tests/api/test_thumbnails.py::test_thumbnails_are_as_private_as_their_images"
        " -- exactly who may load the image"
    ),
    ("GET", "/data/items/{task_id}/{key}"): (
        "tests/api/test_honeypot_adversary.py::test_media_by_task_id_follows_the_task"
        " -- who may see the task by that id: its job's annotators by alias, staff by real id"
    ),
}

# Operations without a role rule yet (issue #16 check 1). This set may only shrink: a new
# route must come with a MATRIX entry (or an ELSEWHERE pointer), never be added here.
TODO_RULES: set[tuple[str, str]] = set()


def _operations(app) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, methods in app.openapi()["paths"].items()
        for method in methods
    ]


def _template_of(operations, method: str, url: str) -> tuple[str, str] | None:
    """The (METHOD, path template) of the operation a concrete request reaches."""
    path = url.split("?")[0]
    for op_method, template in operations:
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if op_method == method and re.match(pattern, path):
            return op_method, template
    return None


class _AnyIds(dict):
    """Stand-in ids for building a MATRIX request without a database."""

    def __missing__(self, key):
        return [7, 8, 9] if key == "tasks" else 7


def _matrix_operations(operations) -> dict[tuple[str, str], str]:
    covered = {}
    for action, (build, _) in MATRIX.items():
        method, url, _body = build(_AnyIds())
        op = _template_of(operations, method, url)
        assert op is not None, f"MATRIX action {action!r} reaches no route: {method} {url}"
        covered.setdefault(op, action)
    for action, (build, _) in OWN_GT_MATRIX.items():
        method, url, _body = build(7)
        op = _template_of(operations, method, url)
        assert op is not None, f"OWN_GT_MATRIX action {action!r} reaches no route"
        covered.setdefault(op, action)
    return covered


def test_every_api_operation_has_a_rule(app):
    """Every operation of the API has its role answers tested: a MATRIX entry, or a pointer to
    the test that asserts them. A new route fails here until someone writes its rule."""
    operations = _operations(app)
    covered = set(_matrix_operations(operations)) | set(ELSEWHERE)
    uncovered = [op for op in operations if op not in covered and op not in TODO_RULES]
    assert not uncovered, "operations without a role rule (add a MATRIX entry):\n" + "\n".join(
        f"  {m} {p}" for m, p in uncovered
    )
    # TODO_RULES only shrinks: an entry that got a rule, or whose route is gone, leaves it
    stale = sorted(TODO_RULES & covered) + sorted(TODO_RULES - set(operations))
    assert not stale, f"remove from TODO_RULES: {stale}"
    assert not set(ELSEWHERE) - set(operations), "ELSEWHERE names a route that is gone"
    root = Path(__file__).resolve().parents[2]
    for op, pointer in ELSEWHERE.items():  # each pointer names a test that exists
        if pointer.startswith("tests/"):
            file, name = pointer.split(" ")[0].split("::")
            assert f"def {name}(" in (root / file).read_text(), (op, pointer)


def test_everyone_resets_their_own_token_only(client, people):
    """Every role may replace its own API token (the old one stops working); there is no way
    to name someone else's."""
    for role in ROLES:
        r = client.post("/api/current-user/reset-token", headers=people[role].headers)
        assert r.status_code == 200, (role, r.text)
        new = {"Authorization": f"Token {r.json()['token']}"}
        assert client.get("/api/current-user/whoami", headers=new).json()["id"] == people[role].id
        assert (
            client.get("/api/current-user/whoami", headers=people[role].headers).status_code == 401
        )


# MATRIX actions that name no project, task or other object: nothing to be an outsider of.
# GET /api/dm/actions takes `project` but ignores it: the list of action names is the same
# for everyone (it answers 200 for any project id, a member's or not).
UNSCOPED = {"create project", "whoami", "list projects", "list data manager actions"}


def test_a_member_of_another_project_gets_nothing(client, people):
    """For every action on a project or something inside one, a lead who works in another
    project only is told it is not there (404) or refused (403), never served: a lead, so that
    the role allows nearly everything and only membership stands in the way."""
    r = client.post(
        "/api/users",
        json={"email": "outsider@example.com", "role": "lead", "password": "long-enough-pw"},
        headers=people["admin"].headers,
    )
    assert r.status_code == 201, r.text
    outsider = {"Authorization": f"Token {r.json()['token']}"}
    theirs = client.post(
        "/api/projects", json={"title": "theirs", "label_config": RECT_CONFIG}, headers=outsider
    )
    assert theirs.status_code == 201, theirs.text
    ids = _setup(client, people)
    served = {}
    for action, (build, _) in MATRIX.items():
        if action in UNSCOPED:
            continue
        method, path, body = build(ids)
        if isinstance(body, Upload):
            r = client.request(method, path, files=body, headers=outsider)
        else:
            r = client.request(method, path, json=body, headers=outsider)
        if r.status_code not in (403, 404):
            served[action] = (method, path, r.status_code)
    assert not served, served
    # ... and the lead's project is untouched by all of it
    assert client.get(f"/api/projects/{ids['project']}", headers=people["lead"].headers).is_success


# A co-assignee's annotation in a shared project (the project's `visibility`): an annotator
# reads it, and nothing about it (issue #18).
SHARED_MATRIX = {
    "view": (
        lambda a: ("GET", f"/api/annotations/{a}", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 200},
    ),
    "its reviews": (
        lambda a: ("GET", f"/api/annotations/{a}/reviews", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "its revisions": (
        lambda a: ("GET", f"/api/annotations/{a}/revisions", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "its quality": (
        lambda a: ("GET", f"/api/annotations/{a}/quality", None),
        {"admin": 200, "lead": 200, "reviewer": 200, "annotator": 403},
    ),
    "change": (
        lambda a: ("PATCH", f"/api/annotations/{a}", {"result": []}),
        {"admin": 200, "lead": 200, "reviewer": 403, "annotator": 403},
    ),
    "review": (
        lambda a: ("POST", f"/api/annotations/{a}/reviews", {"action": "accept"}),
        {"admin": 201, "lead": 201, "reviewer": 201, "annotator": 403},
    ),
}


def test_co_assignees_work_in_a_shared_project(client, people):
    lead = people["lead"].headers
    ids = _setup(client, people)
    r = client.patch(f"/api/projects/{ids['project']}", json={"visibility": "shared"}, headers=lead)
    assert r.status_code == 200, r.text
    assignees = [people["annotator"].id, people["annotator2"].id]
    job = client.post(
        f"/api/projects/{ids['project']}/jobs",
        json={"title": "both", "task_ids": ids["tasks"][2:], "assignees": assignees},
        headers=lead,
    ).json()["id"]
    # annotator2 names the job's task by its alias (services.task_aliases)
    seen = aliases_of(client, people["lead"], people["annotator2"], job)[ids["tasks"][2]]
    answers = {action: {} for action in SHARED_MATRIX}
    for role in ROLES:
        theirs = client.post(
            f"/api/tasks/{seen}/annotations",
            json={"result": [box(1, 1, 2, 2)], "job": job},
            headers=people["annotator2"].headers,
        ).json()["id"]
        for action, (build, _) in SHARED_MATRIX.items():
            method, path, body = build(theirs)
            r = client.request(method, path, json=body, headers=people[role].headers)
            answers[action][role] = r.status_code
    assert answers == {action: expected for action, (_, expected) in SHARED_MATRIX.items()}
