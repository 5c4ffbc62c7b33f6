"""Which task of a project a label file's image is: the matching of names to tasks that every
format import shares, reading only the tasks the names can be (`TaskIndex`).

A name matches, in this order (`formats.image_names`):
1. the task whose image key is the name (how assay's own exports name it);
2. the task whose image key is the key of the name read as an image value (a media URL or an
   external URL in the file);
3. the one task whose image has the name's file name (`tasks.image_name`, indexed); among
   several, the one whose key shares the most trailing folders with the name (`train/right/b.png`
   picks `project-2/right/b.png` over `project-2/left/b.png`). A tie is an error naming the
   candidates: a wrong guess would put one image's labels on another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import ColumnElement, literal, or_, select, true
from sqlalchemy.orm import Session

from assay.formats.image_names import file_name_of, image_key_of, shared_tail
from assay.formats.label_config import LabelConfig
from assay.services import tasks
from assay.services.errors import Invalid
from assay.services.io.exporting import image_key
from assay.store.models import Task

CHUNK = 1000  # keys or ids per IN list
SHOWN = 5  # names an error lists
_T = TypeVar("_T")


@dataclass(frozen=True)
class Existing:
    task_id: int
    width: int | None
    height: int | None


class _TaskView(NamedTuple):
    """The part of a task `exporting.image_key` reads."""

    id: int
    data: dict[str, Any]


class TaskIndex:
    """The project's live tasks by image key (`exporting.image_key`; the first task of each
    image), read only for the keys asked for.

    The key is computed from the task data's image value, which no column holds in general.
    It equals `Task.media_path` (indexed) for the usual task, whose image value is the media
    URL of that path (with no `%` in it, so nothing to unquote); those are found by an `IN`
    over the keys. Every other task (external URLs, plain names, media URLs spelled
    otherwise, no image value: `task-<id>`) is found by one query that the database narrows
    to exactly those tasks, reading only their image value. The keys of all rows read are
    then computed by `image_key` itself, so the matching is exactly that of the exports.
    """

    def __init__(self, session: Session, project_id: int, config: LabelConfig) -> None:
        self.session = session
        self.project_id = project_id
        self.config = config
        self.field = config.image_key() or None  # as image_key reads it
        self.found: dict[str, Existing] = {}  # key -> the first task of that image
        self.looked: set[str] = set()
        self.complete = False  # every task of the project is in `found`
        # the largest task id the database can hold (tasks.id is a 32-bit integer there)
        sqlite = session.get_bind().dialect.name == "sqlite"
        self.max_id = 2**63 - 1 if sqlite else 2**31 - 1

    def lookup(self, keys: Iterable[str]) -> dict[str, Existing]:
        """key -> the first live task of that image, for the keys that have one."""
        keys = list(dict.fromkeys(keys))
        new = [k for k in keys if k not in self.looked] if not self.complete else []
        if new:
            wanted = set(new)
            rows: list[tuple[str, Existing]] = []
            if self.field is None:  # every key is task-<id>
                ids = {i for k in new if (i := _task_id_of_key(k)) is not None}
                for chunk in self._id_chunks(ids):
                    rows += self._rows(Task.id.in_(chunk), wanted)
            else:
                rows += self._rows(self._plain(), wanted, scan=True)
                for chunk in chunks(sorted(wanted)):
                    rows += self._rows(Task.media_path.in_(chunk), wanted, by_key=True)
            for key, task in sorted(rows, key=lambda r: r[1].task_id):
                self.found.setdefault(key, task)
            self.looked |= wanted
        return {k: self.found[k] for k in keys if k in self.found}

    def match(self, names: Iterable[str], *, create_missing: bool = False) -> dict[str, Existing]:
        """name -> its task, for the names a label file gives its images (module docstring).

        Raises Invalid naming the images that match several tasks, two names that match one
        task, and (unless `create_missing`: those become new tasks) names that match none.
        """
        names = list(dict.fromkeys(names))
        as_key = {n: image_key_of(n) or n for n in names}
        exact = self.lookup([*names, *as_key.values()])
        out = {
            n: exact.get(n) or exact[as_key[n]] for n in names if n in exact or as_key[n] in exact
        }
        rest = [n for n in names if n not in out]
        if rest and self.field is not None:
            out |= self._by_file_name({n: as_key[n] for n in rest})
        _refuse_shared_tasks(out)
        missing = [n for n in names if n not in out]
        if missing and not create_missing:
            shown = ", ".join(repr(n) for n in missing[:SHOWN])
            more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
            raise Invalid.field(
                "file",
                f"{len(missing)} image(s) match no task of the project: {shown}{more}; import "
                "the images first, or import with create_missing (CLI: --create-missing) to add "
                "them as tasks that show no image",
            )
        return out

    def _by_file_name(self, keys: dict[str, str]) -> dict[str, Existing]:
        """Step 3 of the matching: name -> the one task whose image has its file name."""
        file_names = {n: file_name_of(k) for n, k in keys.items()}
        candidates: dict[str, dict[str, Existing]] = defaultdict(dict)  # file name -> key -> task
        for chunk in chunks(sorted(set(file_names.values()))):
            for key, task in sorted(
                self._rows(Task.image_name.in_(chunk), None),
                key=lambda r: r[1].task_id,
            ):
                candidates[file_name_of(key)].setdefault(key, task)
        out: dict[str, Existing] = {}
        ambiguous: list[str] = []
        for name, key in keys.items():
            found = candidates.get(file_names[name], {})
            tails = {k: shared_tail(k, key) for k in found}
            chosen = {k: t for k, t in found.items() if tails[k] == max(tails.values())}
            if len(chosen) == 1:
                out[name] = next(iter(chosen.values()))
            elif chosen:
                listed = ", ".join(repr(k) for k in sorted(chosen)[:SHOWN])
                ambiguous.append(f"{name!r} could be {listed}")
        if ambiguous:
            raise Invalid.field(
                "file",
                f"{len(ambiguous)} image name(s) match several tasks: "
                f"{'; '.join(ambiguous[:SHOWN])}; name each image by its path in the project "
                "(as assay's exports name it)",
            )
        return out

    def everything(self) -> dict[str, Existing]:
        """Every image of the project (key -> its first task), in task order: one query that
        reads only the task ids, sizes and image values."""
        if not self.complete:
            self.found = {}
            for key, task in self._rows(true(), None, scan=True):
                self.found.setdefault(key, task)
            self.complete = True
        return self.found

    def by_task_ids(self, ids: Iterable[int]) -> dict[int, str]:
        """task id -> image key, for the live tasks of the project among `ids`."""
        out: dict[int, str] = {}
        for chunk in self._id_chunks(ids):
            out.update((task.task_id, key) for key, task in self._rows(Task.id.in_(chunk), None))
        return out

    def _id_chunks(self, ids: Iterable[int]) -> Iterator[Sequence[int]]:
        """The ids a task may have, sorted, in chunks."""
        return chunks(sorted({i for i in ids if 0 < i <= self.max_id}))

    def _plain(self) -> ColumnElement[bool]:
        """Tasks whose key may differ from their media path: all but those whose image value
        is exactly the media URL of their media path, with no `%` (so no quoting) in it."""
        assert self.field is not None
        if not _json_path_safe(self.field):
            return true()
        value = Task.data[self.field].as_string()
        return or_(
            Task.media_path.is_(None),
            Task.media_path.contains("%", autoescape=True),
            value.is_distinct_from(literal(tasks.MEDIA_URL).concat(Task.media_path)),
        )

    def _rows(
        self,
        where: ColumnElement[bool],
        wanted: set[str] | None,
        *,
        by_key: bool = False,
        scan: bool = False,
    ) -> Iterator[tuple[str, Existing]]:
        """(image key, task) of the project's live tasks that `where` selects (and whose key
        is wanted). by_key: `where` looks the rows up by an index of its own, to be used
        instead of the project's. scan: `where` may select many of the project's tasks: they
        are streamed, in task order."""
        field_name = self.field
        whole = field_name is not None and not _json_path_safe(field_name)
        value: Any = Task.data if whole else Task.data[field_name] if field_name else Task.id
        project = unindexed(Task.project_id) if by_key else Task.project_id
        stmt = select(Task.id, Task.width, Task.height, value).where(
            project == self.project_id, Task.deleted_at.is_(None), where
        )
        if scan:
            stmt = stmt.order_by(Task.id).execution_options(yield_per=5000)
        rows = self.session.execute(stmt)
        for task_id, width, height, v in rows:
            data = v if whole else {field_name: v} if field_name else {}
            key = image_key(_TaskView(task_id, data), self.config)  # type: ignore[arg-type]
            if wanted is None or key in wanted:
                yield key, Existing(task_id, width, height)


def _json_path_safe(name: str) -> bool:
    """Whether a data key can be read alone in SQL (SQLite's JSON path quotes it as is)."""
    return '"' not in name and "\\" not in name


def _task_id_of_key(key: str) -> int | None:
    """The task a `task-<id>` key (a task without an image value) may name."""
    rest = key.removeprefix("task-")
    if rest != key and rest.isascii() and rest.isdigit() and len(rest) < 20:
        return int(rest)
    return None


def chunks(values: Sequence[_T]) -> Iterator[Sequence[_T]]:
    """The values in lists of CHUNK, for IN lists."""
    size = CHUNK
    for i in range(0, len(values), size):
        yield values[i : i + size]


def unindexed(column: Any) -> Any:
    """`column + 0`: the same value, but no index on it is used for the term. SQLite keeps no
    statistics (no ANALYZE), so it would rather walk all of a project's rows by the
    (project_id, deleted_at) index than look the few keys up by their own index."""
    return column + 0


def _refuse_shared_tasks(matched: dict[str, Existing]) -> None:
    """Two images of one file are two images: they may not both be one task's."""
    by_task: dict[int, list[str]] = defaultdict(list)
    for name, task in matched.items():
        by_task[task.task_id].append(name)
    shared = [(t, ns) for t, ns in by_task.items() if len(ns) > 1]
    if shared:
        task_id, ns = shared[0]
        raise Invalid.field(
            "file",
            f"images {', '.join(repr(n) for n in ns[:SHOWN])} all match task {task_id}; "
            "name each image once",
        )
