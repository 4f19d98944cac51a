"""dyadwatch's two C kernels, loaded with ctypes: the GDELT lane's (`gdelt_lane.c`: lines, dates,
the country filter and typed fields in one pass) and MD5 over eight files at once (`md5_lanes.c`).

They are compiled when the package is built (`build.py`, run by the hatch hook in `hatch_build.py`
for a wheel and for `pip install -e .`), never at run time: a wheel carries them and a user needs no
compiler. A library is named after its source's SHA-256, so an edited C file is never served by a
library of the old one (rebuild with `pip install -e .` or `python -m dyadwatch.native.build`). Where
there is no build for this platform, or it does not load, `load` raises `NativeUnavailable` and the
callers take their Python paths (same results, slower). On x86-64 the AVX2 build is loaded where the
CPU has AVX2; DYADWATCH_NATIVE_BASELINE=1 loads the baseline (SSE2) one instead. DYADWATCH_NATIVE_DIR
names another folder to load from.

A base module: standard library only, importable by every stage.
"""

from __future__ import annotations

import ctypes
import functools
import os
from pathlib import Path

from . import build as _build

SOURCES = _build.HERE


class NativeUnavailable(RuntimeError):
    """A kernel has no loadable build here; the caller falls back to Python."""


def library_dir() -> Path:
    """Where built libraries are looked for: $DYADWATCH_NATIVE_DIR, else this package's folder."""
    return Path(os.environ["DYADWATCH_NATIVE_DIR"]) if os.environ.get("DYADWATCH_NATIVE_DIR") else SOURCES


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.partition(":")[2].split())
    except OSError:
        pass
    return set()


def preferred_variants() -> tuple[str, ...]:
    """The builds to try, best first: AVX2 where the CPU has it (unless DYADWATCH_NATIVE_BASELINE), then
    the baseline."""
    baseline = os.environ.get("DYADWATCH_NATIVE_BASELINE", "") not in ("", "0")
    if not baseline and "avx2" in _build.variants() and "avx2" in _cpu_flags():
        return ("avx2", "baseline")
    return ("baseline",)


def library_path(name: str, variant: str) -> Path:
    """Where the `variant` build of kernel `name` (of this version of its source) would be."""
    key = _build.source_key(SOURCES / f"{name}.c")
    return library_dir() / _build.library_name(name, key, variant)


@functools.cache
def load(name: str, variant: str | None = None) -> ctypes.CDLL:
    """Kernel `name` ("gdelt_lane", "md5_lanes"): its `variant` build, or the best this CPU runs."""
    tried = []
    for v in (variant,) if variant else preferred_variants():
        path = library_path(name, v)
        if not path.exists():
            tried.append(f"no {path.name} in {path.parent}")
            continue
        try:
            return ctypes.CDLL(str(path))
        except OSError as exc:  # damaged, or built for another platform
            tried.append(f"{path.name} does not load ({exc})")
    raise NativeUnavailable(f"the {name} kernel is not built for this installation ({'; '.join(tried)}); "
                            "rebuild with `pip install -e .` or `python -m dyadwatch.native.build`")


def loaded_variant(name: str) -> str | None:
    """Which build of kernel `name` `load` gives here (None: none, Python does its work)."""
    for v in preferred_variants():
        try:
            load(name, v)
            return v
        except NativeUnavailable:
            continue
    return None
