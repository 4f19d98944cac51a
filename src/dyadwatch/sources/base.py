"""What every source module provides, and the small helpers they share.

A source turns one input file into a stream of `Chunk`s: canonical events (already filtered to the
requested countries), quarantined rows, and the number of events per day *before* filtering. A source
knows nothing about the store or reports.
"""

from __future__ import annotations

import functools
import io
import struct
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Iterator, Protocol

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:  # ISA-L inflates about twice as fast as zlib; same API
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover
    import zlib as _zlib

try:  # libdeflate: a whole member in one call, faster still (no streaming state)
    import deflate as _libdeflate
except ImportError:  # pragma: no cover
    _libdeflate = None

from . import whole as _whole
from ..errors import InputError
from ..knowledge.schema import DAILY_TOTALS_SCHEMA, EVENT_SCHEMA, QUARANTINE_SCHEMA


@dataclass
class Reject:
    line: int
    reason: str
    raw: str | None = None


@dataclass
class Chunk:
    events: pa.Table  # EVENT_SCHEMA, filtered to the requested countries
    rejects: list[Reject] = field(default_factory=list)
    totals: pa.Table | None = None  # DAILY_TOTALS_SCHEMA, before the country filter
    rows_read: int = 0


@dataclass(frozen=True)
class InputFile:
    """One input file on disk, plain or zipped (a zip holds exactly one data member)."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    def open(self) -> IO[bytes]:
        """A binary stream of the (decompressed) content. Raises InputError with a one-line reason."""
        with self._errors():
            if self._zipped:
                zf, info = self._member()
                return _ZipMemberStream(zf, info)
            return open(self.path, "rb")

    def read_all(self, limit: int) -> bytes | None:
        """The whole (decompressed) content as bytes, or None when it is larger than `limit` bytes."""
        with self.whole(limit) as text:
            return None if text is None else bytes(text)

    @contextmanager
    def whole(self, limit: int) -> Iterator[memoryview | bytes | None]:
        """The whole (decompressed) content while the block lasts, or None when it is larger than
        `limit` bytes (then stream it with `open`). Inflating a zip member in one call is about 1.2x
        faster than streaming it, and reusing the memory (`whole.py`) faster again; the CRC and size
        are checked as when streaming. A view kept after the block stays valid: its memory is then not
        reused."""
        with self._errors():
            text = self.__dict__.get("_text")
            if text is not None:  # inflated already, by `head`
                yield text if len(text) <= limit else None
                return
            if not self._zipped:
                if self.path.stat().st_size > limit:
                    yield None
                    return
                with open(self.path, "rb") as f:
                    text = f.read()
                yield text
                return
            info = self._member_info
            if info.file_size > limit:
                yield None
                return
            if not _whole.available():
                yield self._inflated_bytes(info)
                return
            stored = info.compress_type == zipfile.ZIP_STORED
            out = _whole.take(info.file_size)
            packed = out if stored else _whole.take(info.compress_size)
            try:
                with open(self.path, "rb") as f:
                    _seek_member_data(f, info, self.path)
                    with memoryview(packed) as into:
                        got = f.readinto(into[: info.compress_size]) if info.compress_size else 0
                if got < info.compress_size:
                    raise InputError(f"{self.path}: truncated zip (compressed data ends early)")
                if not stored and info.file_size:
                    try:
                        _whole.inflate(packed, info.compress_size, out, info.file_size)
                    except _whole.Corrupt as exc:
                        raise InputError(f"{self.path}: corrupt or truncated compressed data ({exc})") from None
                if not stored:
                    _whole.give_back(packed)
                    packed = None
                if (stored and info.compress_size != info.file_size) or _whole.crc32(out, info.file_size) != info.CRC:
                    raise InputError(f"{self.path}: corrupt zip (CRC or size mismatch)")
                view = memoryview(out)[: info.file_size]
                try:
                    yield view
                finally:
                    try:
                        view.release()
                    except BufferError:  # the caller still holds a view of it: then it is not reused
                        pass
            finally:
                if packed is not None and packed is not out:
                    _whole.give_back(packed)
                _whole.give_back(out)

    def _inflated_bytes(self, info: zipfile.ZipInfo) -> bytes:
        with open(self.path, "rb") as f:
            _seek_member_data(f, info, self.path)
            data = f.read(info.compress_size)
        if len(data) < info.compress_size:
            raise InputError(f"{self.path}: truncated zip (compressed data ends early)")
        text = data if info.compress_type == zipfile.ZIP_STORED else _inflate(data, info.file_size, self.path)
        del data
        if len(text) != info.file_size or _zlib.crc32(text) != info.CRC:
            raise InputError(f"{self.path}: corrupt zip (CRC or size mismatch)")
        return text

    @property
    def _zipped(self) -> bool:
        return self.path.suffix.lower() == ".zip"

    @functools.cached_property
    def _member_info(self) -> zipfile.ZipInfo:
        """The data member's entry, read once (`head` and `whole` both need it: a small file's
        central directory read twice was a tenth of its reading)."""
        info = _single_member(self.path)
        if info is not None:
            return info
        zf, info = self._member()
        zf.close()
        return info

    def _member(self) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
        try:
            zf = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile as exc:
            raise InputError(f"{self.path}: not a readable zip ({exc}); truncated download?") from None
        members = [m for m in zf.infolist() if not m.is_dir()]
        if not members:
            zf.close()
            raise InputError(f"{self.path}: zip holds no file")
        if members[0].compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            zf.close()
            raise InputError(f"{self.path}: unsupported zip compression method {members[0].compress_type}")
        return zf, members[0]

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except FileNotFoundError:
            raise InputError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"{self.path}: is a directory") from None
        except PermissionError:
            raise InputError(f"{self.path}: permission denied") from None

    def head(self, n: int = 65536) -> bytes:
        """The first `n` (decompressed) bytes. Of a zip member only that much is inflated (a stream
        inflates a whole piece of 1 MB compressed: all of a 15-minute export, which `whole` then
        inflates again); a corrupt member shows when it is read."""
        if not self._zipped:
            with self.open() as f:
                return _read_safely(f, n, self.path)
        with self._errors():
            info = self._member_info
            if info.file_size <= HEAD_WHOLE and info.compress_type == zipfile.ZIP_DEFLATED:
                # a small member (a 15-minute export): inflated whole now and kept for `whole`, which
                # is asked next, instead of inflating its head here and all of it again there
                text = self.__dict__["_text"] = self._inflated_bytes(info)
                return text[:n]
            with open(self.path, "rb") as f:
                _seek_member_data(f, info, self.path)
                if info.compress_type == zipfile.ZIP_STORED:
                    return f.read(min(n, info.compress_size))
                inflate, out, remaining = _zlib.decompressobj(-15), [], info.compress_size
                got = 0
                while got < n and remaining > 0:
                    piece = f.read(min(1 << 15, remaining))
                    if not piece:
                        break
                    remaining -= len(piece)
                    try:
                        out.append(inflate.decompress(piece, n - got))
                    except Exception as exc:  # zlib.error and friends
                        raise InputError(f"{self.path}: corrupt or truncated compressed data ({exc})") from None
                    got += len(out[-1])
                return b"".join(out)


class _ZipMemberStream(io.RawIOBase):
    """Streams one zip member, inflating with ISA-L (about twice zlib's speed) when installed.

    Checks the CRC and size at the end; a corrupt or truncated member raises InputError naming the file.
    """

    _PIECE = 1 << 20  # compressed bytes per inflate call: bounds memory

    def __init__(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo):
        self._path = zf.filename
        zf.close()
        self._f = open(self._path, "rb")
        try:
            _seek_member_data(self._f, info, self._path)
        except InputError:
            self._f.close()
            raise
        self._remaining = info.compress_size
        self._inflate = _zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        self._crc, self._size = 0, 0
        self._expected = (info.CRC, info.file_size)
        self._eof = False
        self._pending = bytearray()  # inflated bytes not yet returned: read(n) returns at most n

    def readable(self) -> bool:
        return True

    def _next_piece(self) -> bytes:
        """The next inflated piece (possibly empty); at the end, checks CRC and size."""
        data = self._f.read(min(self._PIECE, self._remaining)) if self._remaining else b""
        self._remaining -= len(data)
        if self._inflate is None:
            piece = data
        else:
            try:
                piece = self._inflate.decompress(data)
            except Exception as exc:  # zlib.error / isal error
                raise InputError(f"{self._path}: corrupt compressed data ({exc})") from None
        if piece:
            self._crc = _zlib.crc32(piece, self._crc)
            self._size += len(piece)
        if not data:
            self._finish()
        return piece

    def read(self, n: int = -1) -> bytes:
        want = (1 << 62) if n is None or n < 0 else n
        pending = self._pending
        while len(pending) < want and not self._eof:
            pending += self._next_piece()
        if len(pending) <= want:
            out = bytes(pending)
            pending.clear()
        else:
            out = bytes(pending[:want])
            del pending[:want]
        return out

    def readinto(self, b) -> int:
        """Fill `b` (up to its size, less only at the end) with one copy of the inflated bytes."""
        into = memoryview(b).cast("B")
        want = len(into)
        pending = self._pending
        got = min(want, len(pending))
        if got:
            into[:got] = pending[:got]
            del pending[:got]
        while got < want and not self._eof:
            piece = self._next_piece()
            take = min(want - got, len(piece))
            into[got : got + take] = memoryview(piece)[:take]
            got += take
            if take < len(piece):
                pending += memoryview(piece)[take:]
        return got

    def _finish(self) -> None:
        self._eof = True
        if self._inflate is not None and not self._inflate.eof:
            raise InputError(f"{self._path}: truncated zip (compressed data ends early)")
        if (self._crc, self._size) != self._expected:
            raise InputError(f"{self._path}: corrupt zip (CRC or size mismatch)")

    def close(self) -> None:
        if not self.closed:
            self._f.close()
        super().close()


HEAD_WHOLE = 4 << 20  # a zip member up to this size is inflated whole when its head is asked for
_EOCD = struct.Struct("<4s4H2LH")  # end of central directory record (22 bytes)
_CENTRAL = struct.Struct("<4s6H3L5H2L")  # central directory file header (46 bytes, then the name)


def _single_member(path: Path) -> zipfile.ZipInfo | None:
    """The entry of a zip that holds one file and no comment (GDELT's, as published), read from its
    last 22 bytes and its one central directory record: `zipfile.ZipFile` parses the same in Python at
    ~0.2 ms a file, a tenth of reading a 15-minute export. None for anything else (zip64, a comment,
    more entries, a directory): `zipfile` then reads it."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        end = f.tell()
        if end < _EOCD.size + _CENTRAL.size:
            return None
        f.seek(end - _EOCD.size)
        sig, disk, cd_disk, n_here, n_all, cd_size, cd_offset, comment = _EOCD.unpack(f.read(_EOCD.size))
        if (sig != b"PK\x05\x06" or disk or cd_disk or n_here != 1 or n_all != 1 or comment
                or cd_offset + cd_size != end - _EOCD.size or cd_size < _CENTRAL.size):
            return None
        f.seek(cd_offset)
        record = f.read(cd_size)
    (sig, _made, _needs, flags, method, mtime, mdate, crc, csize, usize, name_len, extra_len, comment_len,
     _disk, _internal, _external, offset) = _CENTRAL.unpack_from(record)
    if (sig != b"PK\x01\x02" or _CENTRAL.size + name_len + extra_len + comment_len != cd_size
            or 0xFFFFFFFF in (csize, usize, offset)):
        return None
    raw = record[_CENTRAL.size : _CENTRAL.size + name_len]
    name = raw.decode("utf-8" if flags & 0x800 else "cp437")
    if name.endswith("/"):
        return None
    info = zipfile.ZipInfo(name, ((mdate >> 9) + 1980, (mdate >> 5) & 15, mdate & 31,
                                  mtime >> 11, (mtime >> 5) & 63, (mtime & 31) * 2))
    info.flag_bits, info.compress_type, info.CRC = flags, method, crc
    info.compress_size, info.file_size, info.header_offset = csize, usize, offset
    if method not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None  # `zipfile` says which method is unsupported
    return info


def _seek_member_data(f: IO[bytes], info: zipfile.ZipInfo, path) -> None:
    """Position `f` at the first byte of the member's compressed data (after its local header)."""
    f.seek(info.header_offset)
    header = f.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise InputError(f"{path}: corrupt zip (bad local header)")
    name_len, extra_len = struct.unpack("<HH", header[26:30])
    f.seek(info.header_offset + 30 + name_len + extra_len)


def _inflate(data: bytes, size: int, path) -> bytes:
    """Inflate a whole raw-deflate member of `size` bytes (libdeflate, else ISA-L / zlib)."""
    if size == 0:
        return b""
    try:
        if _libdeflate is not None:
            return _libdeflate.deflate_decompress(data, size)
        return _zlib.decompress(data, -15, size)
    except Exception as exc:  # DeflateError / zlib.error / isal error
        raise InputError(f"{path}: corrupt or truncated compressed data ({exc})") from None


def _read_safely(f: IO[bytes], n: int, path) -> bytes:
    try:
        return f.read(n)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise InputError(f"{path}: corrupt or truncated compressed data ({exc})") from None
    except Exception as exc:  # zlib.error and friends
        raise InputError(f"{path}: cannot decompress ({type(exc).__name__}: {exc})") from None


class Source(Protocol):
    """One input format."""

    name: str  # value of the `source` column, e.g. "gdelt2"

    def read(self, file: InputFile, countries: frozenset[str] | None) -> Iterator[Chunk]: ...


def daily_totals(source: str, event_dates: pa.Array, counted: list[tuple[object, object]] = ()) -> pa.Table:
    """Events per day for one source, from an array of event dates (nulls ignored), plus events already
    counted per day elsewhere (`counted`: pairs of days, as Arrow dates or numpy day numbers since
    1970, and counts), added up per day, in day order."""
    days: list[np.ndarray] = []
    counts: list[np.ndarray] = []
    if len(event_dates):
        vc = pc.value_counts(pc.drop_null(event_dates))
        counted = [(vc.field("values"), vc.field("counts")), *counted]
    for d, c in counted:
        if len(d):
            days.append(d if isinstance(d, np.ndarray) else
                        pc.cast(d, pa.date32()).cast(pa.int32()).to_numpy(zero_copy_only=False))
            counts.append(np.asarray(c, np.int64))
    if not days:
        return DAILY_TOTALS_SCHEMA.empty_table()
    d, inverse = np.unique(np.concatenate(days).astype(np.int32), return_inverse=True)
    n = np.bincount(inverse, weights=np.concatenate(counts), minlength=len(d)).astype(np.int64)
    return pa.table(
        {
            "source": pa.repeat(pa.scalar(source, pa.string()), len(d)),
            "day": pa.array(d, pa.int32()).view(pa.date32()),
            "events": pa.array(n, pa.int64()),
        },
        schema=DAILY_TOTALS_SCHEMA,
    )


def filter_countries(events: pa.Table, countries: frozenset[str] | None) -> pa.Table:
    """Keep events with either actor in `countries` (CAMEO codes)."""
    if not countries:
        return events
    vs = pa.array(sorted(countries), pa.string())
    mask = pc.or_kleene(
        pc.is_in(events["actor1_country"], value_set=vs),
        pc.is_in(events["actor2_country"], value_set=vs),
    )
    return events.filter(pc.fill_null(mask, False))


def conform(columns: dict[str, pa.Array], n: int) -> pa.Table:
    """Build an EVENT_SCHEMA table from the columns a source has; the rest are null."""
    arrays = []
    for f in EVENT_SCHEMA:
        col = columns.get(f.name)
        if col is None:
            col = pa.nulls(n, f.type)
        elif col.type != f.type:
            col = col.cast(f.type)
        arrays.append(col)
    return pa.Table.from_arrays(arrays, schema=EVENT_SCHEMA)


def rejects_table(file_name: str, rejects: list[Reject]) -> pa.Table:
    return pa.table(
        {
            "source_file": [file_name] * len(rejects),
            "source_line": [r.line for r in rejects],
            "reason": [r.reason for r in rejects],
            "raw": [r.raw for r in rejects],
        },
        schema=QUARANTINE_SCHEMA,
    )
