"""Build dyadwatch's C kernels: run by the package build (the hatch hook in `hatch_build.py`), or by
hand after editing a C file:

    python -m dyadwatch.native.build            # into src/dyadwatch/native/, where the package loads them

Standard library only (the build hook loads this file by path, before dyadwatch is installed), and
what only building needs is imported there: the loader imports this module for the library names.

Each kernel (`KERNELS`, a C file beside this one) is compiled into a shared library named after its
source's content, `<stem>-<sha16>.so`, so the package never loads a library built from another
version of its source. On x86-64 a second build with AVX2 (`<stem>-<sha16>.avx2.so`) is made too: a
wheel runs on any x86-64 CPU and `load` picks the AVX2 build where the CPU has it (the lane's scan then
takes 32 bytes per instruction instead of 16, ~20 % faster). A compiler that refuses `-mavx2` gives the
baseline build only; no compiler gives none, and dyadwatch falls back to its Python paths.
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNELS = ("gdelt_lane", "md5_lanes")  # C files in this folder
CFLAGS = ("-O3", "-shared", "-fPIC", "-fno-strict-aliasing")
VARIANT_FLAGS = {"baseline": (), "avx2": ("-mavx2",)}


def source_key(source: Path) -> str:
    """The first 16 hex digits of the source's SHA-256: the version a built library belongs to."""
    return hashlib.sha256(source.read_bytes()).hexdigest()[:16]


def library_name(stem: str, key: str, variant: str) -> str:
    return f"{stem}-{key}.so" if variant == "baseline" else f"{stem}-{key}.{variant}.so"


def variants() -> tuple[str, ...]:
    """The builds this machine's architecture gets: AVX2 as well as the baseline on x86-64."""
    return ("baseline", "avx2") if platform.machine().lower() in ("x86_64", "amd64") else ("baseline",)


def compiler() -> list[str] | None:
    """The C compiler: $CC, else the one Python was built with, else cc or gcc (None: there is none)."""
    import shlex
    import shutil
    import sysconfig

    for candidate in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc"):
        if not candidate:
            continue
        words = shlex.split(candidate)
        if words and shutil.which(words[0]):
            return words
    return None


def build(out_dir: Path = HERE, sources: Path = HERE, log=print) -> list[Path]:
    """Compile every kernel in every variant into `out_dir`; the paths built (already there counts).
    Failures are logged, not raised: what is not built falls back to Python at run time."""
    cc = compiler()
    if cc is None:
        log("dyadwatch: no C compiler found ($CC, cc, gcc): the kernels are not built; "
            "dyadwatch will use its slower Python paths")
        return []
    out_dir.mkdir(parents=True, exist_ok=True)
    built = []
    for stem in KERNELS:
        source = sources / f"{stem}.c"
        key = source_key(source)
        for variant in variants():
            target = out_dir / library_name(stem, key, variant)
            if not target.exists():
                problem = _compile(cc, source, target, CFLAGS + VARIANT_FLAGS[variant])
                if problem:
                    log(f"dyadwatch: {stem} ({variant}) not built: {problem}")
                    continue
            built.append(target)
    _remove_stale(out_dir, {p.name for p in built})
    return built


def _compile(cc: list[str], source: Path, target: Path, flags: tuple[str, ...]) -> str | None:
    """None when `target` was built; else the compiler's first line of complaint."""
    import subprocess

    tmp = target.with_name(f"{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        done = subprocess.run([*cc, *flags, "-o", str(tmp), str(source)], capture_output=True, text=True)
        if done.returncode != 0:
            return (done.stderr.strip().splitlines() or [f"{cc[0]} exited {done.returncode}"])[0]
        os.replace(tmp, target)  # atomic: a process loading the folder sees the whole library or none
        return None
    except OSError as exc:
        return str(exc)
    finally:
        tmp.unlink(missing_ok=True)


def _remove_stale(out_dir: Path, keep: set[str]) -> None:
    """Libraries of older versions of the sources (a contributor's rebuilds) are deleted."""
    for stem in KERNELS:
        for old in out_dir.glob(f"{stem}-*.so"):
            if old.name not in keep:
                old.unlink(missing_ok=True)


if __name__ == "__main__":
    paths = build()
    for p in paths:
        print(p)
    sys.exit(0 if paths else 1)
