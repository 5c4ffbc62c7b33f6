"""Uploaded images (files, or zips of them) become tasks: one task each, stored under the
media root in `project-<id>/`, all or nothing.

Every file is checked before anything is written: a file named like an image that Pillow
cannot read, or a file that is no image at all (outside a zip), refuses the whole upload and
names every bad file. Inside a zip, files that are no images (a README, label files) are
skipped, as `assay import FOLDER` skips them. A name already taken in the project's folder by
other bytes gets a `-2`, `-3`... suffix, so earlier tasks keep their image; the same bytes
again are stored once.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy.orm import Session

from assay.services import tasks
from assay.services.access import Action, Actor, authorize
from assay.services.errors import Invalid
from assay.services.io.unpacking import IMAGES, unpack

MAX_NAMED_ERRORS = 20


@dataclass(frozen=True)
class _Image:
    path: PurePosixPath  # relative, safe
    data: bytes
    size: tuple[int, int]  # width, height in pixels


def upload_images(
    session: Session,
    actor: Actor,
    project_id: int,
    files: dict[str, bytes],
    media_root: Path,
) -> tasks.ImportResult:
    """Make one task per uploaded image (`files`: upload name -> bytes; a `.zip` is unpacked).

    Raises Forbidden unless the actor may import into the project, Invalid naming the files
    that are no readable images (nothing written then), or when the upload holds no image or
    the label config has no <Image> tag.
    """
    authorize(session, actor, Action.TASKS_IMPORT, project_id)
    key = tasks.label_config_of_project(session, project_id).image_key()
    if key is None:
        raise Invalid.field("project", "the label config has no <Image> tag to show images in")
    images = _checked_images(files)
    root = media_root.resolve()
    written: list[Path] = []
    try:
        stored = [_store(root / f"project-{project_id}", image, written) for image in images]
        items = [{"data": {key: tasks.media_url(root, path)}} for path in stored]
        return tasks.import_tasks(
            session, actor, project_id, items, sizes=[image.size for image in images]
        )
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


def _checked_images(files: dict[str, bytes]) -> list[_Image]:
    images: list[_Image] = []
    bad: list[str] = []
    for name, data in files.items():
        from_zip = name.lower().endswith(".zip")
        members = unpack({name: data}, IMAGES).files if from_zip else {name: data}
        for member, content in members.items():
            path = _safe_path(member)
            if path is None or path.suffix.lower() not in tasks.IMAGE_SUFFIXES:
                if not from_zip:
                    bad.append(f"{name}: not an image ({', '.join(sorted(tasks.IMAGE_SUFFIXES))})")
                continue
            if path.name.startswith("._"):  # macOS resource forks in zips
                continue
            size = _size(content)
            if size is None:
                bad.append(f"{member}: not a readable image")
                continue
            images.append(_Image(path, content, size))
    if bad:
        shown = bad[:MAX_NAMED_ERRORS]
        more = f" (and {len(bad) - len(shown)} more)" if len(bad) > len(shown) else ""
        raise Invalid(
            f"{len(bad)} file(s) are not readable images, nothing was imported: "
            f"{'; '.join(shown)}{more}.",
            {"images": shown},
        )
    if not images:
        raise Invalid.field("images", "the upload holds no images")
    return images


def _safe_path(name: str) -> PurePosixPath | None:
    """The upload's relative path with nothing that could leave the project's folder."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return PurePosixPath(*parts) if parts else None


def _size(data: bytes) -> tuple[int, int] | None:
    # PIL loads on first use, not with the server (memory: docs/architecture.md).
    from PIL import Image, UnidentifiedImageError  # noqa: PLC0415

    try:
        with Image.open(io.BytesIO(data)) as im:
            return im.size
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None


def _store(folder: Path, image: _Image, written: list[Path]) -> Path:
    """Write the image under `folder` (a free name if its own holds other bytes)."""
    target = folder / image.path
    stem, suffix, n = target.stem, target.suffix, 1
    digest = hashlib.sha256(image.data).digest()
    while target.exists():
        if hashlib.sha256(target.read_bytes()).digest() == digest:
            return target
        n += 1
        target = target.with_name(f"{stem}-{n}{suffix}")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(image.data)
    written.append(target)
    return target
