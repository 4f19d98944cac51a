"""Whole-member reading into reused memory (`sources/whole.py`): the bytes are the zip's, memory is
reused from file to file, a view a caller keeps is never overwritten, and bad members still fail with
one line naming the file. Without libdeflate the content is the same."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

import dyadwatch.sources.gdelt_fast as gdelt_fast
import dyadwatch.sources.whole as whole
from dyadwatch.sources.base import InputError, InputFile
from dyadwatch.sources.gdelt import GDELT2

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
KARABAKH = sorted((SHARED / "gdelt" / "v2-2020-11-karabakh").glob("*.zip"))
RT = frozenset({"RUS", "TUR"})


def member_bytes(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(zf.infolist()[0])


@pytest.fixture(autouse=True)
def empty_pool(monkeypatch):
    monkeypatch.setattr(whole, "_pool", [])


def test_libdeflate_is_found():
    # the `deflate` package is a dependency: its library must load, or ingest silently runs slower
    assert whole.available()


@pytest.mark.parametrize("path", KARABAKH, ids=lambda p: p.name)
def test_content_is_the_members_bytes(path):
    expected = member_bytes(path)
    with InputFile(path).whole(1 << 30) as text:
        assert isinstance(text, memoryview)
        assert len(text) == len(expected) and text.tobytes() == expected
    assert InputFile(path).read_all(1 << 30) == expected
    assert InputFile(path).read_all(len(expected) - 1) is None  # over the limit: stream it instead


@pytest.mark.parametrize("lane", [False, True], ids=["plain-reader", "compiled-lane"])
def test_memory_is_reused_from_file_to_file(monkeypatch, lane):
    if lane:
        monkeypatch.setattr(gdelt_fast, "MIN_BLOCK", 0)  # every block through the lane
    with InputFile(KARABAKH[0]).whole(1 << 30) as text:
        first = text.obj
    assert any(b is first for b in whole._pool)  # handed back
    pooled = list(whole._pool)
    with InputFile(KARABAKH[0]).whole(1 << 30) as text:
        assert any(text.obj is b for b in pooled)  # one of the buffers handed back (the roles may swap)
    # through the reader: its chunks keep no view of the text, so the same two buffers (compressed
    # bytes, text) serve every read, and what an earlier read returned is not changed by a later one
    for countries in (RT, None):
        whole._pool.clear()
        first = list(GDELT2.read(InputFile(KARABAKH[1]), countries))
        buffers = sorted(map(id, whole._pool))
        assert len(buffers) == 2
        list(GDELT2.read(InputFile(KARABAKH[1]), countries))
        list(GDELT2.read(InputFile(KARABAKH[0]), countries))  # smaller: fits in the same buffers
        assert sorted(map(id, whole._pool)) == buffers
        again = list(GDELT2.read(InputFile(KARABAKH[1]), countries))
        assert [c.events for c in first] == [c.events for c in again]


def test_a_view_kept_by_the_caller_is_never_overwritten():
    a, b = KARABAKH[0], KARABAKH[1]
    with InputFile(a).whole(1 << 30) as text:
        kept = text[:1000]  # outlives the block
    assert all(buf is not kept.obj for buf in whole._pool)  # not handed back while the view lives
    with InputFile(b).whole(1 << 30) as other:
        assert other.obj is not kept.obj
    assert kept.tobytes() == member_bytes(a)[:1000]


def test_without_libdeflate_the_content_is_the_same(monkeypatch):
    monkeypatch.setattr(whole, "available", lambda: False)
    path = KARABAKH[2]
    with InputFile(path).whole(1 << 30) as text:
        assert bytes(text) == member_bytes(path)


def _zip(path: Path, data: bytes, method: int) -> None:
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("x.export.CSV", data)


def test_empty_and_stored_members(tmp_path):
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        for data in (b"", b"1\t2\n" * 1000):
            p = tmp_path / f"m{method}-{len(data)}.zip"
            _zip(p, data, method)
            with InputFile(p).whole(1 << 30) as text:
                assert bytes(text) == data


def test_wrong_declared_size_is_an_input_error(tmp_path):
    """The central directory says one size, the deflate stream holds another: one line naming the file."""
    p = tmp_path / "s.export.CSV.zip"
    _zip(p, b"abc\n" * 5000, zipfile.ZIP_DEFLATED)
    raw = bytearray(p.read_bytes())
    with zipfile.ZipFile(p) as zf:
        info = zf.infolist()[0]
    # patch the uncompressed size in the central directory (offset 24 of its entry) to one byte less
    cd = raw.rindex(b"PK\x01\x02")
    raw[cd + 24 : cd + 28] = (info.file_size - 1).to_bytes(4, "little")
    p.write_bytes(bytes(raw))
    with pytest.raises(InputError, match="s.export.CSV.zip") as exc:
        with InputFile(p).whole(1 << 30):
            pass
    assert "\n" not in str(exc.value)
