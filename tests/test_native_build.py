"""The C kernels are compiled by the package build (`native/build.py`, run by the hatch hook), never at
run time: each kernel in a baseline and (x86-64) an AVX2 build, named after its source's SHA-256, so
the package never loads a library of another version of its source; a compiler that refuses the AVX2
flag gives the baseline only, no compiler gives none (and dyadwatch runs its Python paths). A wheel
carries the libraries and runs with no compiler on PATH."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dyadwatch import native
from dyadwatch.acquire import inputs
from dyadwatch.native import build

from conftest import KARABAKH

ROOT = Path(__file__).resolve().parents[1]
X86 = platform.machine().lower() in ("x86_64", "amd64")


@pytest.fixture
def fresh(monkeypatch):
    """No kernel loaded yet; restored (and forgotten again) after the test."""
    native.load.cache_clear()
    inputs._md5_lanes.cache_clear()
    yield
    monkeypatch.undo()
    native.load.cache_clear()
    inputs._md5_lanes.cache_clear()


def key(stem: str) -> str:
    return hashlib.sha256((build.HERE / f"{stem}.c").read_bytes()).hexdigest()[:16]


def test_every_kernel_is_built_in_each_variant_named_after_its_source(tmp_path):
    logged = []
    built = build.build(tmp_path, log=logged.append)
    names = sorted(p.name for p in built)
    expected = sorted(
        f"{stem}-{key(stem)}{suffix}"
        for stem in ("gdelt_lane", "md5_lanes") for suffix in ((".so", ".avx2.so") if X86 else (".so",))
    )
    assert names == expected and logged == []
    assert sorted(p.name for p in tmp_path.iterdir()) == expected  # no temporary file left
    assert all(p.read_bytes()[:4] == b"\x7fELF" for p in built)
    stamps = [p.stat().st_mtime_ns for p in built]
    assert build.build(tmp_path, log=logged.append) == built  # built already: nothing is compiled again
    assert [p.stat().st_mtime_ns for p in built] == stamps


def test_each_variant_loads_and_hashes_as_hashlib(tmp_path, monkeypatch, fresh):
    build.build(tmp_path)
    monkeypatch.setenv("DYADWATCH_NATIVE_DIR", str(tmp_path))
    files = sorted(KARABAKH.glob("*.zip"))
    for variant in ("baseline", "avx2") if X86 else ("baseline",):
        assert native.load("md5_lanes", variant).md5_files
    assert native.loaded_variant("md5_lanes") == native.preferred_variants()[0]
    assert inputs.md5_many(files) == [hashlib.md5(f.read_bytes()).hexdigest() for f in files]
    monkeypatch.setenv("DYADWATCH_NATIVE_BASELINE", "1")
    assert native.preferred_variants() == ("baseline",)


def test_an_edited_source_gets_a_new_library_and_the_old_one_is_removed(tmp_path):
    sources = tmp_path / "src"
    shutil.copytree(build.HERE, sources, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    out = tmp_path / "out"
    first = {p.name for p in build.build(out, sources)}
    with open(sources / "md5_lanes.c", "a") as f:
        f.write("\n/* edited */\n")
    second = {p.name for p in build.build(out, sources)}
    new_key = hashlib.sha256((sources / "md5_lanes.c").read_bytes()).hexdigest()[:16]
    assert {n for n in second if n.startswith("md5_lanes-")} == {
        n.replace(key("md5_lanes"), new_key) for n in first if n.startswith("md5_lanes-")}
    assert {p.name for p in out.iterdir()} == second  # the old md5_lanes builds are gone
    assert {n for n in first if n.startswith("gdelt_lane-")} <= second


def test_a_library_of_another_source_version_is_never_loaded(tmp_path, monkeypatch, fresh):
    """A folder holding only libraries built from another version of md5_lanes.c: nothing loads, and
    hashlib does the work."""
    sources = tmp_path / "src"
    shutil.copytree(build.HERE, sources, ignore=shutil.ignore_patterns("*.so", "__pycache__"))
    with open(sources / "md5_lanes.c", "a") as f:
        f.write("\n/* another version */\n")
    build.build(tmp_path / "out", sources)
    monkeypatch.setenv("DYADWATCH_NATIVE_DIR", str(tmp_path / "out"))
    with pytest.raises(native.NativeUnavailable, match="md5_lanes kernel is not built"):
        native.load("md5_lanes")
    assert inputs._md5_lanes() is None


def test_a_damaged_library_does_not_load_and_the_baseline_is_taken(tmp_path, monkeypatch, fresh):
    build.build(tmp_path)
    monkeypatch.setenv("DYADWATCH_NATIVE_DIR", str(tmp_path))
    best = native.preferred_variants()[0]
    native.library_path("md5_lanes", best).write_bytes(b"not a shared library")  # a disk that filled up
    if best == "baseline":
        with pytest.raises(native.NativeUnavailable, match="does not load"):
            native.load("md5_lanes")
    else:
        assert native.loaded_variant("md5_lanes") == "baseline"


def _fake_compiler(folder: Path, body: str) -> Path:
    cc = folder / "cc"
    cc.write_text("#!/bin/sh\n" + body + "\n")
    cc.chmod(cc.stat().st_mode | stat.S_IXUSR)
    return cc


@pytest.mark.skipif(not X86, reason="AVX2 builds are made on x86-64 only")
def test_a_compiler_that_refuses_avx2_gives_the_baseline_build(tmp_path, monkeypatch):
    gcc = build.compiler()
    cc = _fake_compiler(tmp_path, 'for a in "$@"; do [ "$a" = -mavx2 ] && { echo "unknown flag -mavx2" >&2; exit 1; }; done\n'
                                  f'exec {" ".join(gcc)} "$@"')
    monkeypatch.setenv("CC", str(cc))
    logged = []
    built = build.build(tmp_path / "out", log=logged.append)
    assert sorted(p.name for p in built) == sorted(f"{s}-{key(s)}.so" for s in ("gdelt_lane", "md5_lanes"))
    assert logged == [f"dyadwatch: {s} (avx2) not built: unknown flag -mavx2" for s in ("gdelt_lane", "md5_lanes")]


def test_a_failing_compiler_or_none_builds_nothing_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CC", str(_fake_compiler(tmp_path, 'echo "cc: internal error" >&2; exit 4')))
    logged = []
    assert build.build(tmp_path / "out", log=logged.append) == []
    assert logged[0] == "dyadwatch: gdelt_lane (baseline) not built: cc: internal error"
    monkeypatch.delenv("CC")
    monkeypatch.setenv("PATH", str(tmp_path / "nothing"))
    logged.clear()
    assert build.build(tmp_path / "out2", log=logged.append) == []
    assert logged[0].startswith("dyadwatch: no C compiler found")
    assert not (tmp_path / "out2").exists()


def test_the_wheel_carries_the_kernels_and_runs_without_a_compiler(tmp_path):
    """`pip wheel` of the project (the hatch hook compiles the kernels), installed on its own into a
    folder: its libraries load and an ingest of the real sample reads through them, with a PATH that
    holds no compiler and CC naming none."""
    wheels = tmp_path / "wheels"
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                           "-w", str(wheels), str(ROOT)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    (wheel,) = wheels.glob("dyadwatch-*.whl")
    machine = platform.machine().lower()
    assert wheel.name.endswith(f"-py3-none-linux_{machine}.whl")
    with zipfile.ZipFile(wheel) as zf:
        libs = sorted(n for n in zf.namelist() if n.endswith(".so"))
    assert libs == sorted(f"dyadwatch/native/{s}-{key(s)}{x}" for s in ("gdelt_lane", "md5_lanes")
                          for x in ((".so", ".avx2.so") if X86 else (".so",)))
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                           str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    script = f"""
import json, sys, warnings
warnings.simplefilter("error")
import dyadwatch
from dyadwatch import native
from dyadwatch.sources import gdelt_fast
report = dyadwatch.open({str(tmp_path / 'store')!r}).ingest([{str(KARABAKH)!r}], workers=1)
print(json.dumps([dyadwatch.__file__, native.loaded_variant("gdelt_lane"), native.loaded_variant("md5_lanes"),
                  gdelt_fast.ready(), report.rows_stored]))
"""
    env = {**os.environ, "PYTHONPATH": str(target), "PATH": str(tmp_path / "no-compiler"), "CC": "/nonexistent/cc"}
    env.pop("DYADWATCH_NATIVE_DIR", None)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    where, lane, md5, ready, rows = json.loads(out.stdout.strip().splitlines()[-1])
    assert where.startswith(str(target)) and ready is True and rows == 9354
    assert lane == md5 == native.preferred_variants()[0]
