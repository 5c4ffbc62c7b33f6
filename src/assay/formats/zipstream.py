"""A zip archive written as a stream of byte chunks, in constant memory.

`zipfile` writes to an unseekable file by putting each member's sizes and CRC in a data
descriptor after its data; here the "file" is a buffer that is drained after every write, so
at most one member chunk (plus the central directory at the end, one small entry per member)
is held at a time. Members over 2 GiB of unknown size need ``force_zip64`` (not done here).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator

__all__ = ["iter_zip"]


class _Drain(io.RawIOBase):
    """A write-only, unseekable sink whose bytes are taken out with `take`."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(b))
        return len(b)

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def iter_zip(
    members: Iterable[tuple[str, bytes | Iterable[bytes]]],
    *,
    compression: int = zipfile.ZIP_DEFLATED,
    compresslevel: int | None = 6,
) -> Iterator[bytes]:
    """Zip ``(name, content)`` pairs as they come; content is bytes or an iterable of byte
    chunks (streamed into the member). Yields the archive's bytes, non-empty chunks only.

    >>> import io, zipfile
    >>> data = b"".join(iter_zip([("a.txt", b"hello")]))
    >>> zipfile.ZipFile(io.BytesIO(data)).read("a.txt")
    b'hello'
    """
    sink = _Drain()
    with zipfile.ZipFile(sink, "w", compression=compression, compresslevel=compresslevel) as zf:
        for name, content in members:
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            with zf.open(info, "w") as f:
                for chunk in [content] if isinstance(content, bytes | bytearray) else content:
                    f.write(chunk)
                    out = sink.take()
                    if out:
                        yield out
            out = sink.take()
            if out:
                yield out
    out = sink.take()
    if out:
        yield out
