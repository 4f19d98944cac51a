"""Small C libraries of dyadwatch, built with the system's C compiler on first use and loaded with
ctypes: the GDELT lane's kernel (`sources/gdelt_lane.c`) and MD5 over many files (`md5_lanes.c`).

Each is built once per version of its source (and compiler and flags) into `cache_dir()`, atomically,
so processes that start together never load half a library. Without a compiler `load` raises, and
the callers fall back to their Python paths (same results, slower).

Where the CPU has AVX2 (read from /proc/cpuinfo) the libraries are built with it: the lane's scan
then takes 32 bytes per instruction instead of 16 (~20 % faster). Its key differs, so a cache folder
shared with an older CPU never hands it the wrong build. DYADWATCH_NATIVE_BASELINE=1 builds for the
baseline (SSE2 on x86-64) instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import platform
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

CFLAGS = ("-O3", "-shared", "-fPIC", "-fno-strict-aliasing")
AVX2_FLAGS = ("-mavx2",)


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def flags() -> tuple[str, ...]:
    """The compiler flags of this machine's builds: CFLAGS, and AVX2_FLAGS where the CPU has AVX2."""
    baseline = os.environ.get("DYADWATCH_NATIVE_BASELINE", "") not in ("", "0")
    if not baseline and platform.machine() in ("x86_64", "AMD64") and "avx2" in _cpu_flags():
        return CFLAGS + AVX2_FLAGS
    return CFLAGS


def cache_dir() -> Path:
    """Where built libraries are kept: $DYADWATCH_CACHE, else $XDG_CACHE_HOME/dyadwatch, else
    ~/.cache/dyadwatch."""
    if os.environ.get("DYADWATCH_CACHE"):
        return Path(os.environ["DYADWATCH_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dyadwatch"


def compiler() -> str | None:
    return os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")


def built_path(source: Path, cc: str | None, cflags: tuple[str, ...] | None = None) -> Path:
    """Where the library of this version of `source` (and compiler and flags) is kept."""
    cflags = flags() if cflags is None else cflags
    key = hashlib.sha256(source.read_bytes() + repr((cflags, cc, platform.machine())).encode())
    return cache_dir() / f"{source.stem}-{key.hexdigest()[:16]}.so"


_lock = threading.Lock()  # threads of one process build a library once, one after the other
# A process forked while another thread holds the lock (the CLI hashes in a thread, and its first hash
# builds md5_lanes.c, while the readers are forked) would inherit it held, and a reader that then
# loads the lane's kernel would wait forever: a fork waits for the lock, and both sides release it.
os.register_at_fork(before=_lock.acquire, after_in_parent=_lock.release, after_in_child=_lock.release)


def load(source: Path, cflags: tuple[str, ...] | None = None) -> ctypes.CDLL:
    """The library built from `source` (a C file) with `cflags` (default: `flags()`), building it first
    if the cache lacks it (or holds one that does not load)."""
    cc = compiler()
    cflags = flags() if cflags is None else cflags
    target = built_path(source, cc, cflags)
    with _lock:
        if target.exists():
            try:
                return ctypes.CDLL(str(target))
            except OSError:  # damaged (a disk full while it was copied, say): build it again
                target.unlink(missing_ok=True)
        if cc is None:
            raise RuntimeError("no C compiler (cc) found to build it")
        try:
            _build(cc, source, target, cflags)
        except RuntimeError:
            if cflags == CFLAGS:
                raise
            # a compiler that does not take the CPU's flags: the baseline build, under its own key
            target, cflags = built_path(source, cc, CFLAGS), CFLAGS
            if not target.exists():
                _build(cc, source, target, cflags)
        return ctypes.CDLL(str(target))


def _build(cc: str, source: Path, target: Path, cflags: tuple[str, ...]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own: other processes may be building the same library at the same moment
    tmp = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        done = subprocess.run([cc, *cflags, "-o", str(tmp), str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            first = (done.stderr.strip().splitlines() or ["no message"])[0]
            raise RuntimeError(f"{cc} could not compile {source.name}: {first}")
        os.replace(tmp, target)  # atomic: a concurrent build or load sees the whole library or none
    finally:
        tmp.unlink(missing_ok=True)
