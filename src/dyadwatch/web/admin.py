"""Write endpoints, registered only when the server is started with an admin token (otherwise they do not
exist: 404). Each needs `Authorization: Bearer <token>`, compared in constant time.

Neither takes a path from the request: ingest takes the file itself as the request body (written to a
fresh temporary folder under a checked name, then ingested and deleted); fetch takes a date range (at
most MAX_FETCH_DAYS days) and downloads from GDELT, or from the mirror the server was started with, into
the store's own downloads folder. The work runs in a child process: DuckDB refuses a read-write catalog
connection in a process that holds read-only ones (the API's), and a child keeps the server responsive.
One job at a time; a second gets 409.
"""

from __future__ import annotations

import hmac
import re
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Literal, Optional

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from ..knowledge.codebook import CodeError, parse_countries
from ..knowledge.formats import SOURCE_NAMES
from . import models
from .api import ApiError, Service, bad, encode, json_response, parse_date
from .jobs import run_job

MAX_UPLOAD = 2 * 1024**3  # bytes of one uploaded event file
MAX_FETCH_DAYS = 31
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="dyadwatch admin"'}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def check_token(expected: str):
    """The dependency that admits a request only with the right bearer token."""
    want = expected.encode("utf-8")

    def require(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(401, "this endpoint needs the admin token: Authorization: Bearer <token>", CHALLENGE)
        if not hmac.compare_digest(value.strip().encode("utf-8"), want):
            raise ApiError(401, "wrong admin token", CHALLENGE)

    return require


class IngestReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    files: int
    skipped: int
    failed: list[str]
    rows_read: int
    rows_kept: int
    rows_stored: int
    rows_rejected: int
    seconds: float


class FetchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: str = Field(..., alias="from", description="First day, YYYY-MM-DD", max_length=10)
    end: str = Field(..., alias="to", description="Last day, YYYY-MM-DD (inclusive)", max_length=10)
    version: Literal[1, 2] = 2
    countries: Optional[str] = Field(None, max_length=400, description="Keep only events with an actor of these "
                                     "CAMEO countries, e.g. RUS,TUR")


class FetchReport(BaseModel):
    model_config = ConfigDict(extra="allow")
    complete: bool
    coverage: list[str]
    ingest: Optional[IngestReport] = None


# -- the router ---------------------------------------------------------------------------------------


def build_admin_router(service: Service, token: str, fetch_base_url: str | None = None) -> APIRouter:
    router = APIRouter(prefix="/api/admin", dependencies=[Depends(check_token(token))], tags=["admin"],
                       responses={401: {"model": models.Error, "description": "No or wrong bearer token"},
                                  409: {"model": models.Error, "description": "Another job is running"}})
    busy = threading.Lock()
    root = str(service.store.root.resolve())

    def countries_of(text: Optional[str]) -> list[str] | None:
        try:
            codes = parse_countries(text)
        except CodeError as exc:
            raise bad(str(exc)) from None
        return sorted(codes) if codes else None

    def run(job: str, *args) -> dict:
        if not busy.acquire(blocking=False):
            raise ApiError(409, "another ingest or fetch is running; try again when it is done")
        try:
            result = run_job(job, *args)
        finally:
            busy.release()
        if "error" in result:
            raise ApiError(409 if "another ingest" in result["error"] else 400, result["error"])
        service.cache.clear()  # the signature would also change; this frees the memory at once
        return result

    @router.post("/ingest", response_model=IngestReport, summary="Ingest one uploaded event file",
                 description="The request body is the file (GDELT export, plain or zipped, or ICEWS), as "
                             "`dyadwatch ingest FILE`. Idempotent: the same content again is skipped.",
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def ingest(
        request: Request,
        name: Optional[str] = Query(None, pattern=_NAME.pattern, description="File name to record, e.g. "
                                    "20201113.export.CSV.zip (the format is detected from it and the first line)"),
        countries: Optional[str] = Query(None, max_length=400, description="e.g. RUS,TUR"),
        source: Optional[Literal[tuple(SOURCE_NAMES)]] = Query(None),  # type: ignore[valid-type]
    ) -> Response:
        keep = countries_of(countries)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > MAX_UPLOAD:
            raise ApiError(413, f"the file is larger than {MAX_UPLOAD // 1024**2} MiB")
        folder = Path(tempfile.mkdtemp(prefix="dyadwatch-upload-"))
        try:
            head = b""
            size = 0
            part = folder / "upload.part"
            with open(part, "wb") as f:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > MAX_UPLOAD:
                        raise ApiError(413, f"the file is larger than {MAX_UPLOAD // 1024**2} MiB")
                    if len(head) < 4:
                        head += chunk[:4]
                    f.write(chunk)
            if size == 0:
                raise bad("the request body is empty: send the event file as the body")
            filename = name or ("upload.export.CSV.zip" if head.startswith(b"PK\x03\x04") else "upload.export.CSV")
            path = folder / filename
            part.rename(path)
            result = await run_in_threadpool(run, "ingest", root, str(path), keep, source)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return json_response(encode(result))

    @router.post("/fetch", response_model=FetchReport, summary="Download and ingest GDELT for a date range",
                 description=f"As `dyadwatch fetch gdelt`, for at most {MAX_FETCH_DAYS} days; the answer comes "
                             "when the files are downloaded and ingested.")
    def fetch_(body: FetchRequest) -> Response:
        d0, d1 = parse_date(body.start, "from"), parse_date(body.end, "to")
        if d0 is None or d1 is None:
            raise bad("from and to are both needed")
        if d1 < d0:
            raise bad(f"to {d1} is before from {d0}")
        if (d1 - d0).days + 1 > MAX_FETCH_DAYS:
            raise bad(f"at most {MAX_FETCH_DAYS} days per fetch")
        keep = countries_of(body.countries)
        return json_response(encode(run("fetch", root, d0.isoformat(), d1.isoformat(), body.version, keep,
                                        fetch_base_url)))

    return router


__all__ = ["build_admin_router", "check_token", "MAX_UPLOAD", "MAX_FETCH_DAYS"]
