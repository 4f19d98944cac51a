"""BigQuery export files built from real GDELT rows, in the layouts BigQuery documents for a query
result exported to Cloud Storage (docs: "Export table data to Cloud Storage", "EXPORT DATA"):

- CSV: a header row of the column names, comma-delimited, RFC 4180 quoting (a field with a comma, a
  quote or a newline is quoted, quotes doubled), NULL as an empty field; GZIP optional;
- JSON: newline-delimited, one object per row in the schema's order, INT64 values as JSON strings
  ("to preserve 64-bit precision"), FLOAT64 as numbers, NULL fields left out, and `<`, `>`, `&`
  written as \\u003c, \\u003e, \\u0026; GZIP optional;
- Parquet: INT64 -> int64, FLOAT64 -> double, STRING -> string (all nullable);
- Avro: a record named Root, each field a union ["null", type] (long, double, string); DEFLATE.

The types are those of GDELT's BigQuery tables (`gdelt-bq.gdeltv2.events`: the codes are STRING, the
counts, dates and classes INTEGER, Goldstein, tone and coordinates FLOAT).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from dyadwatch.sources.gdelt import V1_COLUMNS, V2_COLUMNS

INTEGER = {"GLOBALEVENTID", "SQLDATE", "MonthYear", "Year", "IsRootEvent", "QuadClass", "NumMentions",
           "NumSources", "NumArticles", "Actor1Geo_Type", "Actor2Geo_Type", "ActionGeo_Type", "DATEADDED",
           "day", "events"}  # the last two: the totals query's columns
FLOAT = {"FractionDate", "GoldsteinScale", "AvgTone", "Actor1Geo_Lat", "Actor1Geo_Long", "Actor2Geo_Lat",
         "Actor2Geo_Long", "ActionGeo_Lat", "ActionGeo_Long"}


def bq_type(column: str) -> pa.DataType:
    return pa.int64() if column in INTEGER else pa.float64() if column in FLOAT else pa.string()


def gdelt_rows(zips: list[Path], version: int = 2) -> list[dict]:
    """Every row of GDELT zipped exports as BigQuery holds it: typed values by column name."""
    names = V2_COLUMNS if version == 2 else V1_COLUMNS
    rows = []
    for z in zips:
        with zipfile.ZipFile(z) as zf:
            text = zf.read(zf.infolist()[0]).decode("utf-8")
        for line in text.splitlines():
            if not line:
                continue
            fields = line.split("\t")
            row = {}
            for name, value in zip(names, fields):
                if value == "":
                    row[name] = None
                elif name in INTEGER:
                    row[name] = int(value)
                elif name in FLOAT:
                    row[name] = float(value)
                else:
                    row[name] = value
            rows.append(row)
    return rows


def of_countries(rows: list[dict], countries: set[str]) -> list[dict]:
    """What the query's WHERE keeps: either actor's country in the set."""
    return [r for r in rows if r.get("Actor1CountryCode") in countries or r.get("Actor2CountryCode") in countries]


def totals_rows(rows: list[dict], source: str = "gdelt2") -> list[dict]:
    """The totals query's result over all rows: events per SQLDATE (`day`, an INT64)."""
    by_day = Counter(r["SQLDATE"] for r in rows)
    return [{"source": source, "day": d, "events": n} for d, n in sorted(by_day.items())]


def _csv_text(value) -> str:
    if value is None:
        return ""
    return repr(value) if isinstance(value, float) else str(value)


def write_csv(rows: list[dict], columns: list[str], path: Path, gzipped: bool = False) -> Path:
    out = io.StringIO()
    w = csv.writer(out, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([_csv_text(r.get(c)) for c in columns])
    data = out.getvalue().encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
    return path


def json_line(row: dict, columns: list[str]) -> str:
    obj = {}
    for c in columns:
        v = row.get(c)
        if v is None:
            continue  # NULL fields are left out
        obj[c] = str(v) if isinstance(v, int) else v  # INT64 as a JSON string
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def write_json(rows: list[dict], columns: list[str], path: Path, gzipped: bool = False) -> Path:
    data = "".join(json_line(r, columns) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gzipped else data)
    return path


def arrow_table(rows: list[dict], columns: list[str]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], bq_type(c)) for c in columns})


def write_parquet(rows: list[dict], columns: list[str], path: Path) -> Path:
    pq.write_table(arrow_table(rows, columns), path, compression="snappy")
    return path


def write_avro(rows: list[dict], columns: list[str], path: Path) -> Path:
    import polars as pl

    pl.from_arrow(arrow_table(rows, columns)).write_avro(path, compression="deflate", name="Root")
    return path
