"""#16 M2: a task shows local media only from its project's folder (or a shared one), so a lead
cannot read another project's images by pointing a task of their own at them."""

from __future__ import annotations

import io
import json

import pytest
from label_studio_sdk.client import LabelStudio
from label_studio_sdk.core.api_error import ApiError
from PIL import Image

from assay.services import users
from assay.store.models import Task
from builders import RECT_CONFIG, box, import_tasks


@pytest.fixture
def outsider(db) -> dict[str, str]:
    """The headers of an annotator of no project."""
    with db.session() as s:
        _, token = users.create_user(
            s, "outsider@example.com", "annotator", password="outsider-password"
        )
    return {"Authorization": f"Token {token}"}


@pytest.fixture
def secret(client, people, settings):
    """Project 2, which the lead is not a member of, with an image only its task shows."""
    admin = people["admin"].headers
    other = client.post(
        "/api/projects", json={"title": "private", "label_config": RECT_CONFIG}, headers=admin
    ).json()
    folder = settings.resolved_media_root / f"project-{other['id']}"
    folder.mkdir(parents=True)
    Image.new("RGB", (8, 6), "red").save(folder / "secret.jpg")
    url = f"/data/media/project-{other['id']}/secret.jpg"
    import_tasks(client, people["admin"], other["id"], [{"image": url}])
    return url


def _refused(r, field: str) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert field in body["validation_errors"], body
    return body["validation_errors"][field][0]


def test_a_lead_cannot_show_another_projects_image_in_a_task_of_their_own(
    client, people, project, secret
):
    lead = people["lead"].headers
    assert client.get(secret, headers=lead).status_code == 404
    r = client.post(
        "/api/tasks", json={"project": project["id"], "data": {"image": secret}}, headers=lead
    )
    reason = _refused(r, "tasks[0].data.image")
    assert secret in reason and f"project-{project['id']}/" in reason
    mine = f"/data/media/project-{project['id']}"
    items = [{"image": f"{mine}/{i}.jpg"} for i in range(3)] + [{"data": {"image": secret}}]
    r = client.post(f"/api/projects/{project['id']}/import", json=items, headers=lead)
    _refused(r, "tasks[3].data.image")
    # ways round the folder rule: traversal, percent-encoded or not, and other spellings
    for sneaky in (
        f"{mine}/../project-2/secret.jpg",
        f"{mine}/..%2Fproject-2%2Fsecret.jpg",
        f"{mine}%2F..%2Fproject-2%2Fsecret.jpg",
        f"{mine}/./x/../../project-2/secret.jpg",
        f"{mine}//x.jpg",
        f"{mine}/..\\project-2\\secret.jpg",
        "/data/media/project-2/secret.jpg",
        "/data/media/secret.jpg",
        f"/data/media/project-{project['id']}0/x.jpg",  # project 10's folder is not project 1's
        f"/data/media/project-{project['id']}",
    ):
        r = client.post(
            "/api/tasks", json={"project": project["id"], "data": {"image": sneaky}}, headers=lead
        )
        _refused(r, "tasks[0].data.image")
    # any key of the data, not only the label config's image
    r = client.post(
        "/api/tasks",
        json={"project": project["id"], "data": {"image": f"{mine}/a.jpg", "extra": secret}},
        headers=lead,
    )
    _refused(r, "tasks[0].data.extra")
    # changing a task of one's own project to show it
    (task,) = import_tasks(client, people["lead"], project["id"], [{"image": f"{mine}/a.jpg"}])
    r = client.patch(f"/api/tasks/{task}", json={"data": {"image": secret}}, headers=lead)
    _refused(r, "data.image")
    assert client.get(f"/api/tasks/{task}", headers=lead).json()["data"]["image"] == f"{mine}/a.jpg"
    assert client.get(secret, headers=lead).status_code == 404
    assert client.get(secret, headers=people["annotator"].headers).status_code == 404


def test_label_file_imports_cannot_create_tasks_that_show_another_projects_image(
    client, people, project, secret
):
    lead = people["lead"].headers
    coco = {
        "images": [{"id": 1, "file_name": secret, "width": 8, "height": 6}],
        "annotations": [],
        "categories": [{"id": 1, "name": "Elephant"}],
    }
    url = f"/api/projects/{project['id']}/import?format=coco&create_missing=true"
    r = client.post(url, files={"file": ("coco.json", json.dumps(coco).encode())}, headers=lead)
    _refused(r, "tasks[0].data.image")
    ls = [{"data": {"image": secret}, "annotations": [{"result": [box(1, 1, 2, 2)]}]}]
    r = client.post(
        f"/api/projects/{project['id']}/import?format=ls-json",
        files={"file": ("tasks.json", json.dumps(ls).encode())},
        headers=lead,
    )
    _refused(r, "tasks[0].data.image")
    assert client.get(f"/api/tasks?project={project['id']}", headers=lead).json()["total"] == 0
    assert client.get(secret, headers=lead).status_code == 404


def test_tasks_show_their_own_projects_media_and_shared_folders(
    client, people, project, settings, monkeypatch, outsider
):
    root = settings.resolved_media_root
    mine = root / f"project-{project['id']}"
    (root / "shared" / "coco").mkdir(parents=True)
    mine.mkdir(parents=True)
    Image.new("RGB", (40, 30), "tan").save(mine / "a b#1.png")
    Image.new("RGB", (20, 10), "tan").save(root / "shared" / "coco" / "s.png")
    own = f"/data/media/project-{project['id']}/a%20b%231.png"
    shared = "/data/media/shared/coco/s.png"
    lead, annotator = people["lead"].headers, people["annotator"].headers
    # Label Studio JSON with its own project's media paths: imported, sized, served
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": own}, "annotations": [{"result": []}]}],
        headers=lead,
    )
    assert r.status_code == 201, r.text
    task = client.get(f"/api/tasks/{r.json()['task_ids'][0]}", headers=lead).json()
    assert (task["width"], task["height"]) == (40, 30)
    assert client.get(own, headers=annotator).status_code == 200
    # a shared folder is refused until configured
    r = client.post(
        "/api/tasks", json={"project": project["id"], "data": {"image": shared}}, headers=lead
    )
    _refused(r, "tasks[0].data.image")
    monkeypatch.setattr(settings, "shared_media", "shared/coco")
    r = client.post(
        "/api/tasks", json={"project": project["id"], "data": {"image": shared}}, headers=lead
    )
    assert r.status_code == 201, r.text
    assert client.get(shared, headers=annotator).status_code == 200
    assert client.get(shared, headers=outsider).status_code == 404


def test_a_task_written_before_the_rule_keeps_its_image_for_its_project_only(
    client, people, project, settings, db, outsider
):
    """Existing tasks that show a file outside their project's folder (written before the
    rule) go on showing it to whoever may see the task, and keep it through an edit."""
    legacy = settings.resolved_media_root / "demo-survey"
    legacy.mkdir(parents=True)
    Image.new("RGB", (8, 6), "tan").save(legacy / "old.png")
    url = "/data/media/demo-survey/old.png"
    with db.session() as s:
        task = Task(project_id=project["id"], data={"image": url}, media_path="demo-survey/old.png")
        s.add(task)
        s.flush()
        task_id = task.id
    assert client.get(url, headers=people["annotator"].headers).status_code == 200
    assert client.get(url, headers=outsider).status_code == 404
    lead = people["lead"].headers
    r = client.patch(
        f"/api/tasks/{task_id}", json={"data": {"image": url, "site": "B"}}, headers=lead
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/tasks", json={"project": project["id"], "data": {"image": url}}, headers=lead
    )
    _refused(r, "tasks[0].data.image")


def test_label_files_still_match_and_add_to_tasks_written_before_the_rule(
    client, people, project, db
):
    """A label file adds to an existing task (its data is not written), whatever it shows."""
    url = "/data/media/demo-survey/old.png"
    with db.session() as s:
        s.add(
            Task(
                project_id=project["id"], data={"image": url}, media_path="demo-survey/old.png",
                image_name="old.png", width=8, height=6,
            )
        )  # fmt: skip
    coco = {
        "images": [{"id": 1, "file_name": url, "width": 8, "height": 6}],
        "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}],
        "categories": [{"id": 1, "name": "Elephant"}],
    }
    r = client.post(
        f"/api/projects/{project['id']}/import?format=coco",
        files={"file": ("coco.json", io.BytesIO(json.dumps(coco).encode()))},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["matched_task_count"] == 1 and r.json()["annotation_count"] == 1


def test_label_studio_sdk_scripts_are_refused_the_same_way(live_server, people, project, secret):
    ls = LabelStudio(base_url=live_server, api_key=people["lead"].token)
    with pytest.raises(ApiError) as err:
        ls.tasks.create(project=project["id"], data={"image": secret})
    assert err.value.status_code == 400
    assert "tasks[0].data.image" in err.value.body["validation_errors"]
    with pytest.raises(ApiError) as err:
        ls.projects.import_tasks(project["id"], request=[{"data": {"image": secret}}])
    assert err.value.status_code == 400
    mine = f"/data/media/project-{project['id']}/a.jpg"
    task = ls.tasks.create(project=project["id"], data={"image": mine})
    with pytest.raises(ApiError) as err:
        ls.tasks.update(task.id, data={"image": secret})
    assert "data.image" in err.value.body["validation_errors"]
