"""The admin endpoints' work (web.admin), run in a fresh interpreter: DuckDB refuses a read-write catalog
connection in a process that holds read-only ones (the API's), and a child keeps the server responsive.
Not multiprocessing: a spawned child would re-run `python -m dyadwatch`'s main module, and forking a
threaded server is unsafe. This module imports nothing heavy, so the child starts quickly.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys


def _report(r) -> dict:
    return {"files": len(r.files), "skipped": len(r.skipped), "failed": [f.error for f in r.failed] + r.problems,
            "rows_read": r.rows_read, "rows_kept": r.rows_kept, "rows_stored": r.rows_stored,
            "rows_rejected": r.rows_rejected, "seconds": round(r.seconds, 3)}


def _ingest_job(root: str, path: str, countries: list | None, source: str | None) -> dict:
    from ..store import Store, StoreError

    try:
        keep = frozenset(countries) if countries else None
        return _report(Store(root).ingest([path], countries=keep, source=source, workers=1))
    except StoreError as exc:
        return {"error": str(exc)}


def _fetch_job(root: str, start: str, end: str, version: int, countries: list | None, base_url: str | None) -> dict:
    from ..acquire import fetch
    from ..store import Store, StoreError

    store = Store(root)
    try:
        report = fetch.fetch_gdelt(dt.date.fromisoformat(start), dt.date.fromisoformat(end),
                                   store.root / "downloads" / f"gdelt{version}", version=version, base_url=base_url)
    except fetch.FetchError as exc:
        return {"error": str(exc)}
    out = {"complete": report.complete, "coverage": fetch.format_coverage(report), "ingest": None}
    if report.ok_paths:
        try:
            keep = frozenset(countries) if countries else None
            out["ingest"] = _report(store.ingest(report.ok_paths, countries=keep))
        except StoreError as exc:
            return {"error": str(exc)}
    return out


JOBS = {"ingest": _ingest_job, "fetch": _fetch_job}


def child_main() -> None:
    """Entry point of the job process: a JSON request on stdin, the JSON result as the last stdout line."""
    request = json.loads(sys.stdin.read())
    result = JOBS[request["job"]](*request["args"])
    sys.stdout.write("\n" + json.dumps(result) + "\n")


def run_job(job: str, *args) -> dict:
    """Run a job in a fresh interpreter; its result (JSON) or a RuntimeError naming the failure."""
    code = "from dyadwatch.web.jobs import child_main; child_main()"
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps({"job": job, "args": list(args)}),
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        last = next((line for line in reversed(proc.stderr.splitlines()) if line.strip()), "no message")
        raise RuntimeError(f"{job} job failed (exit {proc.returncode}): {last}")
    return json.loads(lines[-1])
