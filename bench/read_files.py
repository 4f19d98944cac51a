"""The readers' work alone: `read_file` on the first N files of a folder, one after the other in this
process (no parent, no contention), as a reader process does it. Prints wall and CPU seconds, peak RSS
and page faults. Run it alternately for two revisions, the machine's speed drifts:

    for i in 1 2 3 4; do PYTHONPATH=/tmp/old/src python bench/read_files.py /tmp/bench-input/10m; \\
                         PYTHONPATH=src python bench/read_files.py /tmp/bench-input/10m; done
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import dyadwatch.store  # noqa: F401 - the imports a reader is forked with
from dyadwatch.cli.ingest import _skip_pandas_probe
from dyadwatch.sources.reading import read_file, reader_init


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("input", type=Path, help="folder of zipped GDELT 2.0 exports (bench/make_gdelt_input.py)")
    ap.add_argument("--files", type=int, default=40)
    ap.add_argument("--countries", default="RUS,TUR", help="comma list; empty: no filter")
    a = ap.parse_args()
    countries = frozenset(a.countries.split(",")) if a.countries else None
    files = sorted(a.input.glob("*.zip"))[: a.files]
    reader_init()
    _skip_pandas_probe()  # as the CLI's ingest does before the fork: else the first file imports pandas
    with tempfile.TemporaryDirectory() as staging:
        start, before = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
        rows = 0
        for f in files:
            rows += read_file(str(f), f.name, staging, countries, "gdelt2").rows_read
        after = resource.getrusage(resource.RUSAGE_SELF)
    print(f"{len(files)} files, {rows:,} rows: {time.perf_counter() - start:.2f} s, "
          f"user {after.ru_utime - before.ru_utime:.2f} s, sys {after.ru_stime - before.ru_stime:.2f} s, "
          f"peak RSS {after.ru_maxrss / 1024:.0f} MB, minor faults {after.ru_minflt - before.ru_minflt:,}")


if __name__ == "__main__":
    main()
