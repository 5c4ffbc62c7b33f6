"""Streaming zip writer: valid archives from chunks, members streamed, nothing seeked."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

from hypothesis import given, settings
from hypothesis import strategies as st

from assay.formats.zipstream import iter_zip

member_names = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-./é", min_size=1, max_size=30
).filter(lambda s: not s.startswith("/") and not s.endswith("/") and "//" not in s)


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(member_names, st.binary(max_size=5000), max_size=8))
def test_chunks_concatenate_to_a_valid_zip(members):
    chunks = list(iter_zip(members.items()))
    assert all(chunks)
    with zipfile.ZipFile(io.BytesIO(b"".join(chunks))) as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == members


def test_iterable_members_are_streamed_before_the_archive_ends():
    produced = []

    def big():
        for i in range(200):
            produced.append(i)
            yield bytes([i % 256]) * 10_000 + bytes(range(256)) * 40

    stream = iter_zip([("big.bin", big()), ("small.txt", b"hi")], compresslevel=1)
    first = next(stream)
    assert first.startswith(b"PK\x03\x04") and len(produced) < 200
    rest = b"".join(stream)
    with zipfile.ZipFile(io.BytesIO(first + rest)) as zf:
        assert len(zf.read("big.bin")) == 200 * (10_000 + 256 * 40)
        assert zf.read("small.txt") == b"hi"


def test_memory_stays_flat_for_a_large_archive():
    def members():
        for i in range(300):
            yield f"labels/img_{i:04}.txt", (f"0 0.5 0.5 0.1 0.{i}\n" * 2000).encode()

    tracemalloc.start()
    total = sum(len(c) for c in iter_zip(members()))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert total > 0
    assert peak < 2_000_000, peak  # one member (~50 KB) at a time, not the ~10 MB of input


def test_stored_members_and_an_empty_archive():
    data = b"".join(
        iter_zip([("a", b"x" * 100)], compression=zipfile.ZIP_STORED, compresslevel=None)
    )
    assert zipfile.ZipFile(io.BytesIO(data)).getinfo("a").compress_type == zipfile.ZIP_STORED
    assert zipfile.ZipFile(io.BytesIO(b"".join(iter_zip([])))).namelist() == []
