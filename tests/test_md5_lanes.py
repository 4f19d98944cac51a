"""MD5 of many files at once (`md5_lanes.c` through `inputs.md5_many`): the digests are hashlib's, for
every length around the block and padding boundaries, for any number of files against the eight lanes,
for real GDELT zips; a file it cannot read raises what hashing it with Python raises; without a C
compiler hashlib does it all."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dyadwatch import inputs
from dyadwatch.inputs import md5_many

from conftest import GEORGIA, KARABAKH

EDGES = [0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 65535, 65536, 200_003]


def write(folder: Path, sizes: list[int], seed: int = 0) -> list[Path]:
    rnd = random.Random(seed)
    paths = []
    for i, n in enumerate(sizes):
        p = folder / f"f{i:03d}"
        p.write_bytes(rnd.randbytes(n))
        paths.append(p)
    return paths


def hashlib_md5(paths: list[Path]) -> list[str]:
    return [hashlib.md5(p.read_bytes()).hexdigest() for p in paths]


def test_the_c_hasher_builds():
    assert inputs._md5_lanes() is not None


@pytest.mark.parametrize("count", [2, 7, 8, 9, 17])
def test_lengths_around_the_block_and_padding_edges(tmp_path, count):
    sizes = (EDGES * 2)[:count] if count <= 2 * len(EDGES) else EDGES
    paths = write(tmp_path, sizes)
    assert md5_many(paths) == hashlib_md5(paths)


def test_every_edge_length_in_every_lane(tmp_path):
    # 18 lengths, shifted so that each one ends up in each lane, and files ending at different times
    for shift in range(8):
        sizes = EDGES[shift:] + EDGES[:shift]
        paths = write(tmp_path, sizes, seed=shift)
        assert md5_many(paths) == hashlib_md5(paths)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 300_000), min_size=1, max_size=24), st.integers(0, 2**32 - 1))
def test_any_files(tmp_path_factory, sizes, seed):
    paths = write(tmp_path_factory.mktemp("md5"), sizes, seed)
    assert md5_many(paths) == hashlib_md5(paths)


def test_real_gdelt_zips():
    paths = sorted(KARABAKH.iterdir()) + sorted(GEORGIA.iterdir())
    assert len(paths) > 8
    assert md5_many(paths) == hashlib_md5(paths)


def test_a_file_it_cannot_read_raises_as_python_does(tmp_path):
    paths = write(tmp_path, [100, 200, 300])
    missing = tmp_path / "missing.zip"
    with pytest.raises(FileNotFoundError, match="missing.zip"):
        md5_many([paths[0], missing, *paths[1:]])
    # a folder is not a file either: the same error hashlib's path gives
    with pytest.raises(IsADirectoryError):
        md5_many([paths[0], tmp_path, paths[1]])


def test_without_a_compiler_hashlib_does_it(tmp_path, monkeypatch):
    monkeypatch.setenv("DYADWATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", "false")
    inputs._md5_lanes.cache_clear()
    try:
        assert inputs._md5_lanes() is None
        paths = write(tmp_path, EDGES)
        assert md5_many(paths) == hashlib_md5(paths)
    finally:
        inputs._md5_lanes.cache_clear()


def test_threads_building_at_once_all_get_the_library(tmp_path, monkeypatch):
    """Store.ingest hashes in two threads: on a fresh machine both ask for the library at once. Each
    must get it (one build, no half-written file left), not a fallback or a broken cache."""
    from concurrent.futures import ThreadPoolExecutor

    from dyadwatch import native

    monkeypatch.setenv("DYADWATCH_CACHE", str(tmp_path / "cache"))
    with ThreadPoolExecutor(max_workers=4) as pool:
        libs = list(pool.map(lambda _: native.load(inputs.MD5_SOURCE), range(4)))
    assert all(lib.md5_files for lib in libs)
    built = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(built) == 1 and built[0].startswith("md5_lanes-") and built[0].endswith(".so")


def test_a_damaged_library_in_the_cache_is_built_again(tmp_path, monkeypatch):
    from dyadwatch import native

    monkeypatch.setenv("DYADWATCH_CACHE", str(tmp_path / "cache"))
    target = native.built_path(inputs.MD5_SOURCE, native.compiler())
    target.parent.mkdir(parents=True)
    target.write_bytes(b"not a shared library")  # say, a disk that filled up while it was copied
    assert native.load(inputs.MD5_SOURCE).md5_files
    assert target.read_bytes()[:4] == b"\x7fELF"


def _child_can_take_the_lock(out) -> None:
    from dyadwatch import native

    got = native._lock.acquire(timeout=2)
    out.put(got)


def test_a_fork_never_inherits_the_build_lock_held():
    """A thread builds a library (holding native's lock) while the readers are forked: the fork waits
    for the lock, so a reader never starts with it held (it would wait forever for its kernel)."""
    import multiprocessing
    import threading
    import time

    from dyadwatch import native

    held = threading.Event()

    def build():
        with native._lock:
            held.set()
            time.sleep(0.3)

    t = threading.Thread(target=build)
    t.start()
    held.wait()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    started = time.perf_counter()
    child = ctx.Process(target=_child_can_take_the_lock, args=(out,))
    child.start()  # waits for the thread's build to end
    waited = time.perf_counter() - started
    assert out.get(timeout=10) is True
    child.join(10)
    t.join()
    assert waited > 0.1 and native._lock.acquire(timeout=1)
    native._lock.release()


def test_a_compiler_without_the_cpus_flags_gets_the_baseline_build(tmp_path, monkeypatch):
    from dyadwatch import native

    monkeypatch.setenv("DYADWATCH_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(native, "flags", lambda: native.CFLAGS + ("-mno-such-flag",))
    lib = native.load(inputs.MD5_SOURCE)
    assert lib.md5_files
    built = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert built == [native.built_path(inputs.MD5_SOURCE, native.compiler(), native.CFLAGS).name]
