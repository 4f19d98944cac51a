"""Reading a zip member whole into reused memory: libdeflate's one-call inflate and its CRC-32.

A fresh bytes object per member costs more than it looks: the kernel zeroes and maps every page of it
(tens of MB per export file), and that was about a third of the inflate's time. So the compressed bytes
and the text go into process-level buffers that are handed back after use and reused for the next
file. A buffer is reused only when nothing still refers to it (an mmap refuses to resize while any
view of it is alive, and that is the check), so a caller that keeps a view never sees it overwritten.

The buffers are anonymous maps with room to spare (twice the size asked for): a page costs memory only
once it is written, so the spare room is free, and files of varying size (15-minute exports range 2-5x)
share one buffer instead of each bigger one allocating and zeroing a new one (~50 MB less per reader).
Of the buffers that fit, a file takes one whose pages are in use already, so that the text and the
compressed bytes keep to their own (taking turns, each faulted in the other's unused pages: ~20 % of
a reader's page faults).

libdeflate is called through ctypes on the library the `deflate` package ships (it exports libdeflate's
C API). Without it, `available()` is False and the caller inflates as before.
"""

from __future__ import annotations

import ctypes
import functools
import mmap
import threading

_lock = threading.Lock()
_pool: list[mmap.mmap] = []
_mapped: dict[int, int] = {}  # id of a buffer take() made -> the most bytes asked of it (its pages in use)
_POOL_MAX = 2  # a reader's compressed bytes and text
_MIN_CAPACITY = 64 << 20  # virtual: only the pages written cost memory


class _Lib:
    def __init__(self) -> None:
        import deflate._deflate as ext

        lib = ctypes.CDLL(ext.__file__)
        lib.libdeflate_alloc_decompressor.restype = ctypes.c_void_p
        lib.libdeflate_alloc_decompressor.argtypes = []
        lib.libdeflate_free_decompressor.restype = None
        lib.libdeflate_free_decompressor.argtypes = [ctypes.c_void_p]
        lib.libdeflate_deflate_decompress.restype = ctypes.c_int
        lib.libdeflate_deflate_decompress.argtypes = [
            ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.libdeflate_crc32.restype = ctypes.c_uint32
        lib.libdeflate_crc32.argtypes = [ctypes.c_uint32, ctypes.c_void_p, ctypes.c_size_t]
        self.lib = lib


@functools.cache
def _lib() -> _Lib | None:
    try:
        return _Lib()
    except (ImportError, OSError, AttributeError):  # no deflate package, or one without libdeflate's API
        return None


def available() -> bool:
    return _lib() is not None


def take(size: int) -> mmap.mmap:
    """A buffer of at least `size` bytes, reused when one is free."""
    with _lock:
        fits = [b for b in _pool if len(b) >= size]
        if fits:
            # one whose pages up to `size` are in use already, else the one with the most: the text
            # and the compressed bytes then keep to their own buffer, file after file, instead of
            # taking turns and each faulting in the other's unused pages
            warm = [b for b in fits if _mapped[id(b)] >= size]
            buf = min(warm, key=len) if warm else max(fits, key=lambda b: _mapped[id(b)])
            _pool.remove(buf)
            _mapped[id(buf)] = max(_mapped[id(buf)], size)
            return buf
        if _pool:  # too small for this file: it makes room for the new one instead of adding to it
            _drop(max(_pool, key=len))
    # private: a reader forked with buffers in this pool must get its own copy of them, not share them
    buf = mmap.mmap(-1, max(2 * size, _MIN_CAPACITY), flags=mmap.MAP_PRIVATE)
    _mapped[id(buf)] = size
    return buf


def _drop(buf: mmap.mmap) -> None:
    _pool.remove(buf)
    _mapped.pop(id(buf), None)


def give_back(buf: mmap.mmap) -> None:
    """Return a buffer for reuse, unless something still refers to it (then it is simply dropped: it is
    unmapped once the last view goes)."""
    try:
        buf.resize(len(buf))  # raises BufferError while a view of it is alive; else changes nothing
    except BufferError:
        return
    with _lock:
        _pool.append(buf)
        if len(_pool) > _POOL_MAX:
            _drop(min(_pool, key=len))


def _address(buf) -> int:
    return ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))


class Corrupt(Exception):
    """The compressed data does not inflate to the expected size."""


def inflate(data, n_in: int, out, size: int) -> None:
    """Inflate the raw-deflate bytes data[:n_in] into out[:size], which must be exactly `size` long."""
    lib = _lib().lib
    d = lib.libdeflate_alloc_decompressor()
    if not d:
        raise MemoryError("libdeflate: cannot allocate a decompressor")
    actual = ctypes.c_size_t(0)
    try:
        rc = lib.libdeflate_deflate_decompress(d, _address(data), n_in, _address(out), size, ctypes.byref(actual))
    finally:
        lib.libdeflate_free_decompressor(d)
    if rc != 0 or actual.value != size:
        raise Corrupt(f"libdeflate result {rc}, {actual.value} of {size} bytes")


def crc32(buf, n: int) -> int:
    return int(_lib().lib.libdeflate_crc32(0, _address(buf), n))
