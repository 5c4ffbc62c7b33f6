"""#16 M2: which media-root files a project's tasks may show (`MediaScope`), the setting that
shares folders, and `register_images` of folders inside the media root."""

from __future__ import annotations

import pytest
from PIL import Image
from pydantic import ValidationError

from assay.services import projects, tasks
from assay.services.access import Actor, Role
from assay.services.errors import Invalid
from assay.services.tasks.media import MediaScope
from assay.settings import Settings
from assay.store.models import Task
from builders import RECT_CONFIG


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("project-1/a.png", True),
        ("project-1/deep/er/herd#1 (copy).png", True),
        ("project-1/a\\b.png", True),  # a backslash in a file name (POSIX)
        ("shared/x.png", True),
        ("datasets/coco/x.png", True),
        ("project-2/a.png", False),
        ("project-10/a.png", False),
        ("project-1", False),
        ("project-1/", False),
        ("a.png", False),
        ("shared", False),
        ("sharedx/a.png", False),
        ("datasets/other/x.png", False),
        ("project-1/../project-2/a.png", False),
        ("project-1/..\\project-2\\a.png", False),  # a Windows server's separator
        ("project-1/./a.png", False),
        ("project-1//a.png", False),
        ("/project-1/a.png", False),
        ("project-1/a\x00.png", False),
    ],
)
def test_a_project_shows_media_from_its_folder_and_the_shared_ones_only(path, allowed):
    scope = MediaScope(1, ("shared", "datasets/coco"))
    assert (scope.refusal(path) is None) == allowed


def test_the_cut_short_path_a_task_stores_is_checked_too():
    scope = MediaScope(1)
    long = "project-1/" + "a" * 985 + "/..x/secret.png"  # stored cut after the `..`
    with pytest.raises(Invalid, match=r"data\.image"):
        scope.check({"image": f"/data/media/{long}"}, "data")
    scope.check({"image": f"/data/media/project-1/{'a' * 1100}.png"}, "data")


def test_shared_media_is_a_list_of_plain_folders():
    assert Settings(shared_media=" shared/, datasets/coco/ ,").shared_media_folders == (
        "shared",
        "datasets/coco",
    )
    assert Settings().shared_media_folders == ()
    for bad in ("../etc", "a/../b", "a//b", "./x"):
        with pytest.raises(ValidationError):
            Settings(shared_media=bad)


def _image(path, size=(8, 6)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, "tan").save(path)


def test_images_inside_the_media_root_are_used_in_place_only_where_the_project_may_show_them(
    db, people, tmp_path
):
    """`assay import P folder/` of a folder under the media root: images in the project's folder
    or a shared one stay where they are; others (another project's, a loose folder's) are
    copied into the project's folder, as images from outside the media root are."""
    root = tmp_path / "media"
    lead = Actor(people["lead"].id, Role.LEAD, people["lead"].email)
    with db.session() as s:
        pid = projects.create_project(s, lead, title="p", label_config=RECT_CONFIG).id
    mine = root / f"project-{pid}"
    _image(mine / "flight" / "a.png")
    _image(root / "shared" / "s.png")
    _image(root / "incoming" / "b.png")
    _image(root / "project-999" / "c.png")

    def images(folder, shared=()):
        with db.session() as s:
            ids = tasks.register_images(s, lead, pid, folder, root, shared_media=shared).task_ids
        with db.session(write=False) as s:
            return sorted(s.get(Task, i).data["image"] for i in ids)

    assert images(mine) == [f"/data/media/project-{pid}/flight/a.png"]
    assert images(root / "shared", shared=("shared",)) == ["/data/media/shared/s.png"]
    assert images(root / "shared") == [f"/data/media/project-{pid}/s.png"]
    assert (mine / "s.png").is_file()
    assert images(root / "incoming") == [f"/data/media/project-{pid}/b.png"]
    assert images(root / "project-999") == [f"/data/media/project-{pid}/c.png"]
    # a link in the project's folder to another project's file is not followed in place
    (mine / "flight" / "link.png").symlink_to(root / "project-999" / "c.png")
    with pytest.raises(Invalid, match=r"link\.png links to .*project-999/c\.png, outside"):
        images(mine)
    assert images(mine / "flight") == [  # copied in, as any image from outside
        f"/data/media/project-{pid}/flight/a.png",
        f"/data/media/project-{pid}/link.png",
    ]
    assert not (mine / "link.png").is_symlink()
