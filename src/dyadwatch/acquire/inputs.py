"""Which files an ingest reads, in which order, and their MD5s. Only the standard library (and the
MD5 kernel, through ctypes): the CLI starts hashing here before it imports Arrow, DuckDB and the
readers (~0.4 s), so that the second core hashes while the first imports.

The order ranks a repeated event id: file name, then path (and, within files of the same name, content
MD5: the store sorts those).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import hashlib
import os
import queue
import threading
from pathlib import Path
from typing import Iterator

from .. import native

class Inputs:
    """The files of one ingest: paths expanded (files, folders, globs) and ranked; `problems` are the
    paths that matched nothing. `digests` hashes them ahead once started (by the CLI, early; else by
    the store)."""

    def __init__(self, paths: list[str | os.PathLike]):
        self.paths = list(paths)
        self.files, self.problems = expand_paths(paths)
        self.files.sort(key=lambda f: (f.name, str(f)))
        self.digests = Digests(self.files)

    def hashing(self) -> "Digests":
        """The files' digests: those under way, or a new hashing when they were used up (by an earlier
        ingest of the same inputs)."""
        if self.digests.stop.is_set():  # its block was left: stopped, its digests used or dropped
            self.digests = Digests(self.files)
        return self.digests


def expand_paths(paths: list[str | os.PathLike]) -> tuple[list[Path], list[str]]:
    """Files, folders (their files, sorted) and globs -> (files, one-line problems)."""
    files: list[Path] = []
    problems: list[str] = []
    for p in paths:
        text = str(p)
        if any(ch in text for ch in "*?["):
            hits = sorted(Path(h) for h in glob.glob(text, recursive=True) if Path(h).is_file())
            if not hits:
                problems.append(f"{text}: no file matches this pattern")
            files.extend(hits)
        elif Path(text).is_dir():
            # (by parts: the order of Paths, without their slow comparison)
            hits = sorted((f for f in Path(text).rglob("*") if f.is_file() and not f.name.startswith(".")),
                          key=lambda f: f.parts)
            if not hits:
                problems.append(f"{text}: folder holds no files")
            files.extend(hits)
        elif Path(text).is_file():
            files.append(Path(text))
        else:
            problems.append(f"{text}: no such file or folder")
    return files, problems


def md5_of(path: Path) -> str:
    # file_digest reads into one small buffer that stays in cache: ~20 % faster than hashing 4 MB reads
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "md5").hexdigest()


MD5_LANES = 8  # files md5_lanes.c hashes at once


@functools.cache
def _md5_lanes():
    """`md5_files` of md5_lanes.c (eight files at once in one vector: ~3x hashlib), None when it is not
    built here (then hashlib does it)."""
    try:
        fn = native.load("md5_lanes").md5_files
    except native.NativeUnavailable:  # hashlib gives the same digests
        return None
    fn.restype = None
    fn.argtypes = [ctypes.c_int64, ctypes.POINTER(ctypes.c_char_p), ctypes.c_void_p, ctypes.c_void_p]
    return fn


def md5_many(paths: list[Path]) -> list[str]:
    """The MD5 of each file, in order. A file the C hasher cannot read is hashed by `md5_of`, which
    raises the error a user should see."""
    fn = _md5_lanes() if len(paths) > 1 else None
    if fn is None:
        return [md5_of(p) for p in paths]
    n = len(paths)
    names = (ctypes.c_char_p * n)(*[os.fsencode(p) for p in paths])
    out = ctypes.create_string_buffer(16 * n)
    failed = ctypes.create_string_buffer(n)
    fn(n, names, out, failed)  # ctypes releases the GIL meanwhile
    digests, raw = out.raw, failed.raw
    return [md5_of(p) if raw[i] else digests[16 * i : 16 * i + 16].hex() for i, p in enumerate(paths)]


class Digests:
    """The MD5 of each of `files`, in order, computed ahead by a thread eight files at a time (the
    hashing releases the GIL) from `start()` (or entering the block) on; leaving the block stops it.
    Iterating raises what hashing a file raised."""

    def __init__(self, files: list[Path]):
        self.files = files
        self.ready: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._hash, name="dyadwatch-md5", daemon=True)

    def _hash(self) -> None:
        try:
            for i in range(0, len(self.files), MD5_LANES):
                if self.stop.is_set():
                    return
                chunk = self.files[i : i + MD5_LANES]
                try:
                    self.ready.put(md5_many(chunk))
                except OSError:  # one of them cannot be read: that one is reported, the others go on
                    self.ready.put([_md5_or_error(p) for p in chunk])
        except BaseException as exc:  # noqa: BLE001 - handed to the iterating thread
            self.ready.put(exc)

    def start(self) -> "Digests":
        """Start hashing (once: a second call does nothing)."""
        if self.thread.ident is None:
            self.thread.start()
        return self

    def __enter__(self) -> "Digests":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def __iter__(self) -> Iterator[str | OSError]:
        """Each file's MD5, or the OSError of a file that cannot be read."""
        for _ in range(0, len(self.files), MD5_LANES):
            got = self.ready.get()
            if isinstance(got, BaseException):
                raise got
            yield from got


def _md5_or_error(path: Path) -> str | OSError:
    try:
        return md5_of(path)
    except OSError as exc:
        return exc
