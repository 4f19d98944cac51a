"""MD5 of many files at once (`md5_lanes.c` through `inputs.md5_many`): the digests are hashlib's, for
every length around the block and padding boundaries, for any number of files against the eight lanes,
for real GDELT zips; a file it cannot read raises what hashing it with Python raises; without a
built kernel hashlib does it all."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dyadwatch.acquire import inputs
from dyadwatch.acquire.inputs import md5_many

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


def test_without_a_built_library_hashlib_does_it(tmp_path, monkeypatch):
    """A platform without a build of the kernels (an empty library folder): hashlib gives the digests."""
    from dyadwatch import native

    monkeypatch.setenv("DYADWATCH_NATIVE_DIR", str(tmp_path / "empty"))
    native.load.cache_clear()
    inputs._md5_lanes.cache_clear()
    try:
        assert inputs._md5_lanes() is None
        paths = write(tmp_path, EDGES)
        assert md5_many(paths) == hashlib_md5(paths)
    finally:
        monkeypatch.undo()
        native.load.cache_clear()
        inputs._md5_lanes.cache_clear()
