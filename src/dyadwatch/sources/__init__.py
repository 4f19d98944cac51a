"""Sources: one module per input format (GDELT 2.0 and 1.0 in `gdelt`, with its compiled lane
`gdelt_fast`; ICEWS in `icews`; BigQuery exports of GDELT in `bigquery`), each turning a file into
canonical event rows, quarantined rows and per-day totals (`base`); `whole` inflates a zip member in
one call; `reading` reads one file into staging (what an ingest's reader process runs). `detect` picks
the source for a file from its name and first bytes. Sources may import `knowledge` and the base
modules (`errors`, `native`), never the store or a later stage: they know nothing of where their rows go.
"""

from __future__ import annotations

from ..knowledge.formats import SOURCE_NAMES
from .base import Chunk, InputError, InputFile, Reject, Source
from .gdelt import GDELT1, GDELT2, GDELT2_TRANSLINGUAL


def by_name(name: str) -> Source:
    if name == "icews":
        from .icews import IcewsSource

        return IcewsSource()
    for s in (GDELT2, GDELT2_TRANSLINGUAL, GDELT1):
        if s.name == name:
            return s
    raise InputError(f"unknown source {name!r}; choose one of {', '.join(SOURCE_NAMES)}")


def detect(file: InputFile) -> Source:
    """GDELT files have no header, so the column count of the first line tells the version. A BigQuery
    export (Parquet, Avro, or CSV / JSON with GDELT's column names, maybe gzipped) is told by its magic
    bytes or its header (`bigquery.sniff`)."""
    head = file.head()
    if not head.strip():
        raise InputError(f"{file.path}: empty file (no event rows)")
    from .bigquery import sniff
    from .icews import looks_like_icews

    exported = sniff(file, head)
    if exported is not None:
        return exported

    if looks_like_icews(head):
        return by_name("icews")
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    columns = first.count(b"\t") + 1
    if columns == 61:
        return GDELT2_TRANSLINGUAL if ".translation." in file.name else GDELT2
    if columns in (57, 58):
        return GDELT1
    raise InputError(
        f"{file.path}: unknown format (first line has {columns} tab-separated columns; "
        "expected GDELT 2.0 (61), GDELT 1.0 (57/58) or an ICEWS header)"
    )


__all__ = ["Chunk", "InputError", "InputFile", "Reject", "Source", "by_name", "detect", "SOURCE_NAMES"]
