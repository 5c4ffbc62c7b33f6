"""The label files of one import: its files and the members of its zips, read within the caps
of one request (`ImportLimits`).

Only what the format reads is read (`FORMAT_SUFFIXES`: COCO .json, VOC .xml, ...), into memory:
label files are small. Every other file, such as the images/ of a COCO zip, is counted and never
decompressed; of a label file of another format only the first bytes are read, so the import can
say what it looks like. The caps are checked before anything is decompressed, from each zip's
central directory (its entries counted by walking it, not by the count its end record claims),
and again while reading, chunk by chunk: a zip's headers can lie about the sizes.

>>> limits = ImportLimits(files=10, total_bytes=1 << 20, file_bytes=1 << 20)
>>> sorted(unpack({"a.json": b"{}", "b.png": b"..."}, "coco", limits).files)
['a.json']
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

from assay.formats.sniff import HEAD
from assay.services.errors import Invalid
from assay.services.tasks.media import IMAGE_SUFFIXES
from assay.settings import Settings

Source = bytes | Path | IO[bytes]  # a file's content, its path, or a seekable binary file
Opener = Callable[[], AbstractContextManager[IO[bytes]]]

FORMAT_SUFFIXES: dict[str, tuple[str, ...]] = {
    "coco": (".json",),
    "ls-json": (".json",),
    "voc": (".xml",),
    "yolo": (".txt", ".yaml", ".yml"),
    "csv": (".csv",),
}
LABEL_SUFFIXES = frozenset(s for suffixes in FORMAT_SUFFIXES.values() for s in suffixes)
IMAGES = "images"  # not a label format: an upload of images (`io.image_uploads`) reads these
CHUNK = 1 << 20  # bytes decompressed at a time
HEADS_KEPT = 100  # label files of other formats whose first bytes are read, for the hint
_BAD_MEMBER = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, NotImplementedError,
               RuntimeError, OSError)  # fmt: skip


@dataclass(frozen=True)
class ImportLimits:
    """The caps of one import request, summed over all its files and all its zips' members."""

    files: int = 200_000  # files and zip members (directories too), read or not
    total_bytes: int = 1 << 30  # bytes read, after unzipping
    file_bytes: int = 512 << 20  # bytes of one file read, after unzipping

    @classmethod
    def of(cls, settings: Settings) -> ImportLimits:
        """The caps the server's settings give (ASSAY_IMPORT_MAX_*)."""
        return cls(
            files=settings.import_max_files,
            total_bytes=int(settings.import_max_unpacked_mb * (1 << 20)),
            file_bytes=int(settings.import_max_file_mb * (1 << 20)),
        )


DEFAULT_LIMITS = ImportLimits()


@dataclass
class Unpacked:
    """What an upload holds for a format: relative path -> bytes of the files it reads, the
    first bytes of label files of other formats, and how many files were not read."""

    files: dict[str, bytes] = field(default_factory=dict)
    heads: dict[str, bytes] = field(default_factory=dict)
    skipped: int = 0


def unpack(
    sources: Mapping[str, Source], fmt: str, limits: ImportLimits = DEFAULT_LIMITS
) -> Unpacked:
    """The files of `sources` (name -> content; a name ending in .zip is a zip, replaced by its
    members) that the format `fmt` reads (`IMAGES`: the images). A lone file that is not a zip
    is read whatever its name. Invalid (400) naming the file and the cap when the request holds
    too many files or unpacks to too many bytes, or naming the member that cannot be unpacked
    (bad CRC, ...)."""
    reads = tuple(IMAGE_SUFFIXES) if fmt == IMAGES else FORMAT_SUFFIXES[fmt]
    lone = len(sources) == 1 and not next(iter(sources)).lower().endswith(".zip")
    budget = _Budget(limits)
    plan: list[tuple[str, str, Opener, int]] = []  # (path, file, opener, size); size -1: head
    out = Unpacked()
    heads = 0
    with ExitStack() as stack:
        for name, source in sources.items():
            if not name.lower().endswith(".zip"):
                budget.count(name, 1)
                size = _size(source)
                suffix = PurePosixPath(name).suffix.lower()
                if lone or suffix in reads:
                    budget.plan(name, name, size)
                    plan.append((name, name, _opener(source), size))
                elif suffix in LABEL_SUFFIXES and heads < HEADS_KEPT:
                    heads += 1
                    plan.append((name, name, _opener(source), -1))
                else:
                    out.skipped += 1
                continue
            archive = stack.enter_context(_open_zip(name, source, budget))
            for info in archive.infolist():
                path = PurePosixPath(info.filename)
                suffix = path.suffix.lower()
                if info.is_dir() or not path.parts or path.is_absolute() or ".." in path.parts:
                    continue
                if path.parts[0] == "__MACOSX" or suffix not in (*LABEL_SUFFIXES, *reads):
                    out.skipped += 1
                elif suffix in reads:
                    budget.plan(name, f"{name}: {info.filename}", info.file_size)
                    plan.append((str(path), name, _member(archive, info), info.file_size))
                elif heads < HEADS_KEPT:
                    heads += 1
                    plan.append((str(path), name, _member(archive, info), -1))
                else:
                    out.skipped += 1
        for path, name, reader, size in plan:
            if size < 0:
                out.heads[path] = _read_head(reader, budget)
                out.skipped += 1
            else:
                out.files[path] = _read(reader, name, path, budget)
    return out


class _Budget:
    """The request's running counts against its caps; each breach is Invalid naming it."""

    def __init__(self, limits: ImportLimits) -> None:
        self.limits = limits
        self.files = 0
        self.planned = 0
        self.read = 0

    def count(self, name: str, n: int) -> None:
        self.files += n
        if self.files > self.limits.files:
            raise Invalid.field(
                "file",
                f"{name}: this import holds more than {self.limits.files:,} files and zip "
                "members, the most one import takes",
            )

    def plan(self, name: str, what: str, size: int) -> None:
        """A file to read, by its declared size."""
        self._check_one(what, size)
        self.planned += size
        if self.planned > self.limits.total_bytes:
            raise Invalid.field("file", self._too_much(name))

    def take(self, name: str, what: str, got: int, n: int) -> None:
        """`n` more bytes read of a file (`got` read of it so far, these included)."""
        self._check_one(what, got)
        self.read += n
        if self.read > self.limits.total_bytes:
            raise Invalid.field("file", self._too_much(name))

    def _check_one(self, what: str, size: int) -> None:
        if size > self.limits.file_bytes:
            raise Invalid.field(
                "file",
                f"{what} unpacks to more than {_mib(self.limits.file_bytes)}, the most one "
                "label file may",
            )

    def _too_much(self, name: str) -> str:
        return (
            f"{name}: the label files of this import unpack to more than "
            f"{_mib(self.limits.total_bytes)}, the most one import reads"
        )


def _mib(n: int) -> str:
    return f"{n / (1 << 20):,.0f} MiB" if n >= 1 << 20 else f"{n:,} bytes"


def _opener(source: Source) -> Opener:
    @contextmanager
    def open_() -> Iterator[IO[bytes]]:
        if isinstance(source, bytes):
            yield io.BytesIO(source)
        elif isinstance(source, Path):
            with source.open("rb") as f:
                yield f
        else:
            source.seek(0)
            yield source

    return open_


def _member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Opener:
    return lambda: archive.open(info)


def _size(source: Source) -> int:
    if isinstance(source, bytes):
        return len(source)
    if isinstance(source, Path):
        return source.stat().st_size
    return source.seek(0, io.SEEK_END)


def _read(reader: Opener, name: str, path: str, budget: _Budget) -> bytes:
    """The whole file, in chunks, every chunk counted; Invalid naming it if it breaks."""
    what = path if path == name else f"{name}: {path}"
    buf = io.BytesIO()
    got = 0
    try:
        with reader() as f:
            while chunk := f.read(CHUNK):
                got += len(chunk)
                budget.take(name, what, got, len(chunk))
                buf.write(chunk)
    except _BAD_MEMBER as exc:
        raise Invalid.field("file", f"{what} cannot be unpacked: {exc}") from None
    return buf.getvalue()


def _read_head(reader: Opener, budget: _Budget) -> bytes:
    """The first bytes, for `sniff.looks_like`; empty when they cannot be read (only a hint)."""
    try:
        with reader() as f:
            head = f.read(HEAD)
    except _BAD_MEMBER:
        return b""
    budget.read += len(head)
    return head


@contextmanager
def _open_zip(name: str, source: Source, budget: _Budget) -> Iterator[zipfile.ZipFile]:
    """The zip, its entries counted from its central directory before zipfile reads it."""
    with _opener(source)() as f:
        try:
            budget.count(name, _central_directory_entries(f, budget.limits.files - budget.files))
            archive = zipfile.ZipFile(f)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise Invalid.field("file", f"{name} is not a readable zip file ({exc})") from None
        with archive:
            yield archive


_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record
_EOCD64_LOCATOR = struct.Struct("<4sLQL")
_EOCD64 = struct.Struct("<4sQ2H2L4Q")
_ENTRY = struct.Struct("<4s24x3H12x")  # a central directory entry: name, extra, comment lengths


def _central_directory_entries(f: IO[bytes], most: int) -> int:
    """How many entries a zip's central directory holds, walked header by header up to one past
    `most` (the count its end record gives can lie); 0 when it has no end record (zipfile then
    says why). The directory is found as zipfile finds it: it ends where the end record (or the
    zip64 end record before it) starts."""
    end = f.seek(0, io.SEEK_END)
    tail_start = max(0, end - (_EOCD.size + 0xFFFF))
    f.seek(tail_start)
    tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        return 0
    cd_end = tail_start + at
    cd_size = _EOCD.unpack_from(tail, at)[5]
    record64 = cd_end - _EOCD64_LOCATOR.size - _EOCD64.size
    if record64 >= 0:
        f.seek(record64)
        head = f.read(_EOCD64.size + 4)
        if head[:4] == b"PK\x06\x06" and head[_EOCD64.size :] == b"PK\x06\x07":
            cd_size, cd_end = _EOCD64.unpack_from(head)[8], record64
    position, count = cd_end - cd_size, 0
    while 0 <= position < cd_end and count <= most:
        f.seek(position)
        header = f.read(_ENTRY.size)
        if len(header) < _ENTRY.size or header[:4] != b"PK\x01\x02":
            break
        _, name_len, extra_len, comment_len = _ENTRY.unpack(header)
        position += _ENTRY.size + name_len + extra_len + comment_len
        count += 1
    return count
