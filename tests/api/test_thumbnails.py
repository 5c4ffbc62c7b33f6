"""Thumbnails of local images (issue #17 item 7): small, cached, as private as the image."""

from __future__ import annotations

import io
import os
import threading

from PIL import Image

from assay.services.tasks import thumbnails
from builders import RECT_CONFIG


def _image_task(client, people, settings, project_id, name="big.jpg", size=(1200, 800)):
    """A task of the project showing a JPEG of `size` under its media folder; its media path."""
    folder = settings.resolved_media_root / f"project-{project_id}"
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (40, 120, 60)).save(folder / name, quality=90)
    relative = f"project-{project_id}/{name}"
    r = client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true",
        json=[{"image": f"/data/media/{relative}"}],
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return relative, r.json()["task_ids"][0]


def _cached(settings) -> list:
    root = settings.resolved_thumbnail_root
    return sorted(root.rglob("*.jpg")) if root.exists() else []


def test_a_thumbnail_is_small_made_once_and_revalidated_by_etag(client, people, settings, project):
    relative, _task = _image_task(client, people, settings, project["id"])
    h = people["annotator"].headers
    r = client.get(f"/data/thumbnails/{relative}", headers=h)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg"
    assert "max-age" in r.headers["cache-control"] and "private" in r.headers["cache-control"]
    with Image.open(io.BytesIO(r.content)) as im:
        assert im.size == (256, 171)  # longest side 256, aspect kept
    etag = r.headers["etag"]
    (made,) = _cached(settings)
    assert made.is_relative_to(settings.data_dir.resolve())  # under the data dir
    stamp = made.stat().st_mtime_ns
    again = client.get(f"/data/thumbnails/{relative}", headers=h)
    assert again.content == r.content and again.headers["etag"] == etag
    assert _cached(settings) == [made] and made.stat().st_mtime_ns == stamp  # not made again
    not_modified = client.get(f"/data/thumbnails/{relative}", headers={**h, "If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other_tag = client.get(f"/data/thumbnails/{relative}", headers={**h, "If-None-Match": '"x"'})
    assert other_tag.status_code == 200


def test_a_changed_image_gets_a_new_thumbnail_and_etag(client, people, settings, project):
    relative, _task = _image_task(client, people, settings, project["id"])
    h = people["lead"].headers
    first = client.get(f"/data/thumbnails/{relative}", headers=h)
    path = settings.resolved_media_root / relative
    Image.new("RGB", (300, 600), (200, 10, 10)).save(path, quality=90)
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = client.get(
        f"/data/thumbnails/{relative}", headers={**h, "If-None-Match": first.headers["etag"]}
    )
    assert second.status_code == 200 and second.headers["etag"] != first.headers["etag"]
    with Image.open(io.BytesIO(second.content)) as im:
        assert im.size == (128, 256)
    assert len(_cached(settings)) == 1  # the stale one is gone


def test_thumbnails_are_as_private_as_their_images(client, people, settings, project):
    admin = people["admin"].headers
    private = client.post(
        "/api/projects", json={"title": "private", "label_config": RECT_CONFIG}, headers=admin
    ).json()
    relative, task = _image_task(
        client, people | {"lead": people["admin"]}, settings, private["id"]
    )
    url = f"/data/thumbnails/{relative}"
    assert client.get(url).status_code == 401
    for who in ("lead", "reviewer", "annotator"):  # members of `project` only
        assert client.get(url, headers=people[who].headers).status_code == 404, who
    assert _cached(settings) == []  # nothing is made for who may not see it
    assert client.get(url, headers=admin).status_code == 200
    client.post(
        f"/api/projects/{private['id']}/members",
        json={"user": people["annotator"].id},
        headers=admin,
    )
    assert client.get(url, headers=people["annotator"].headers).status_code == 200
    client.delete(f"/api/tasks/{task}", headers=admin)  # a deleted task shows nothing
    r = client.get(url, headers={**people["annotator"].headers, "If-None-Match": "*"})
    assert r.status_code == 404
    assert client.get("/data/thumbnails/..%2F..%2Fsecret_key", headers=admin).status_code == 404


def test_a_file_that_is_no_image_has_no_thumbnail(client, people, settings, project):
    folder = settings.resolved_media_root / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "notes.jpg").write_bytes(b"not an image")
    r = client.get(
        f"/data/thumbnails/project-{project['id']}/notes.jpg", headers=people["admin"].headers
    )
    assert r.status_code == 404 and "not an image" in r.json()["detail"]
    assert _cached(settings) == []


def test_concurrent_first_requests_never_leave_a_torn_thumbnail(tmp_path):
    """Many threads make the same thumbnail at once: each gets a whole JPEG, no temp file stays."""
    media, cache = tmp_path / "media", tmp_path / "thumbs"
    (media / "p").mkdir(parents=True)
    Image.effect_noise((2000, 1500), 60).convert("RGB").save(media / "p" / "n.png")
    results: list = []
    errors: list = []
    start = threading.Barrier(6)

    def make() -> None:
        try:
            start.wait()
            results.append(thumbnails.thumbnail(media, cache, "p/n.png"))
        except Exception as exc:  # pragma: no cover - the assertion below shows it
            errors.append(exc)

    threads = [threading.Thread(target=make) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.path for r in results}) == 1 and len({r.etag for r in results}) == 1
    with Image.open(results[0].path) as im:
        im.load()  # a torn file fails to decode
        assert im.size == (256, 192)
    assert [p.name for p in cache.rglob("*") if p.is_file()] == [results[0].path.name]


def test_thumbnail_urls_are_for_local_media_only():
    assert thumbnails.thumbnail_url("/data/media/project-3/a%23b.jpg") == (
        "/data/thumbnails/project-3/a%23b.jpg"
    )
    assert thumbnails.thumbnail_url("https://cdn.example/x.jpg") == "https://cdn.example/x.jpg"
    assert thumbnails.thumbnail_url(None) is None
