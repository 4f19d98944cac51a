"""The dashboard server: FastAPI app with the pages (web.pages), the JSON API (web.api), the static files
(Vega-Lite and the dashboard's own script and style) and, only with an admin token, the write endpoints
(web.admin).

    from dyadwatch.web import create_app
    app = create_app("path/to/store")              # read-only
    app = create_app(store, admin_token="...")     # plus POST /api/admin/ingest and /api/admin/fetch

Errors are JSON `{"error": "..."}` with a 4xx status (or 503 when the store is missing or locked, 500 for
a bug): never a stack trace; the server's log has the traceback of a 500. CORS is off unless origins are
given; the interactive docs (/docs) are off because they load scripts from a CDN: /openapi.json is there.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import duckdb
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request

from ..version import __version__
from ..knowledge.codebook import CodeError
from ..store import Store, StoreError
from . import pages
from .api import MAX_PAGE, ApiError, Service, build_router, encode, json_response
from .cache import ResultCache

log = logging.getLogger("dyadwatch.web")

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
SECURITY_HEADERS = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"), (b"cross-origin-resource-policy", b"same-origin")]


def _error(status: int, message: str, headers: dict | None = None):
    response = json_response(encode({"error": message}), status)
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def _validation_message(exc: RequestValidationError) -> str:
    """One line from pydantic's errors, naming the parameter (and the page-size cap for `limit`)."""
    parts = []
    for e in exc.errors():
        loc = [str(x) for x in e.get("loc", ()) if x not in ("query", "body", "path", "header")]
        name = ".".join(loc) or "request"
        value = e.get("input")
        shown = repr(value) if value is not None and not isinstance(value, dict) else ""
        shown = shown if len(shown) <= 60 else shown[:56] + "...'"
        kind = e.get("type", "")
        if name == "limit" and kind == "less_than_equal":
            parts.append(f"limit {value} is above the page-size cap of {MAX_PAGE}: ask for more pages with offset")
        elif kind == "missing":
            parts.append(f"{name} is required")
        elif kind == "string_pattern_mismatch" and name in ("dyad", "focal"):
            what = "two CAMEO country codes joined by '-', e.g. RUS-TUR" if name == "dyad" else "a CAMEO country code"
            parts.append(f"{name} {shown} should be {what}")
        else:
            parts.append(f"{name}{' ' + shown if shown else ''}: {e.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


class Guard:
    """Outermost ASGI layer: Host check (against DNS rebinding), security headers, and any exception a
    handler did not turn into an answer becomes a 500 JSON error (the traceback goes to the log only)."""

    def __init__(self, app, allowed_hosts: tuple[str, ...] | None):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts} if allowed_hosts else None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.allowed is not None:
            host = dict(scope.get("headers") or []).get(b"host", b"").decode("latin-1").lower()
            name = host.split("]")[0] + "]" if host.startswith("[") else host.split(":")[0]
            if name not in self.allowed:
                return await _error(400, "unexpected Host header; this server answers only to "
                                         + ", ".join(sorted(self.allowed)))(scope, receive, send)
        is_api = scope.get("path", "").startswith("/api") or scope.get("path") == "/openapi.json"
        started = False

        async def send_with_headers(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                have = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in SECURITY_HEADERS if k not in have]
                if is_api and b"cache-control" not in have:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:  # noqa: BLE001 - the last line of defence
            log.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await _error(500, "internal error: the server's log has the details")(scope, receive, send_with_headers)


def create_app(store: Store | str | os.PathLike | None = None, admin_token: str | None = None, *,
               cache_size: int = 256, cors_origins: tuple[str, ...] = (), allowed_hosts: tuple[str, ...] | None = None,
               fetch_base_url: str | None = None) -> FastAPI:
    """The app over `store` (a Store or its folder). admin_token: register the admin endpoints, guarded by
    it. cache_size: results kept (0: no cache). cors_origins: origins allowed to read the API from other
    sites (none by default). allowed_hosts: Host header values accepted (None: any)."""
    st = store if isinstance(store, Store) else Store(store)
    service = Service(st, ResultCache(cache_size), admin=bool(admin_token))
    app = FastAPI(
        title="dyadwatch", version=__version__, docs_url=None, redoc_url=None,
        description="How the relationship between two states changes, measured from open event data. Read-only "
                    "JSON API over one store; the same queries as the command line. Every list is paged "
                    f"(`limit` at most {MAX_PAGE}, `offset`); errors are `{{\"error\": \"...\"}}`.",
    )
    app.state.service = service

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return _error(422, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        message = {404: f"not found: {request.url.path}", 405: f"method {request.method} not allowed here"}.get(
            exc.status_code, str(exc.detail))
        return _error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(CodeError)
    async def code_error(request: Request, exc: CodeError):
        return _error(400, str(exc))

    @app.exception_handler(ValueError)
    async def value_error(request: Request, exc: ValueError):  # the measures' "unknown track", "bad date", ...
        return _error(400, str(exc).strip().splitlines()[0] if str(exc).strip() else "bad request")

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError):
        message = str(exc)
        for path in sorted({str(st.root.resolve()), str(st.root)}, key=len, reverse=True):
            message = message.replace(path, st.root.name)  # no server paths in answers
        return _error(503, message)

    @app.exception_handler(duckdb.IOException)
    async def io_error(request: Request, exc: duckdb.IOException):
        log.warning("store read failed on %s: %s", request.url.path, str(exc).splitlines()[0])
        return _error(503, "the store could not be read (changed by an ingest or compaction during the query?); "
                           "try again")

    app.include_router(pages.router)
    app.include_router(build_router(service))
    if admin_token:
        from .admin import build_admin_router

        app.include_router(build_admin_router(service, admin_token, fetch_base_url))
    app.mount("/static", StaticFiles(directory=str(pages.STATIC)), name="static")
    if cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=list(cors_origins), allow_methods=["GET"],
                           allow_headers=[], allow_credentials=False)
    app.add_middleware(Guard, allowed_hosts=allowed_hosts)
    return app


def app_from_env() -> FastAPI:
    """Factory for `uvicorn --factory` with several workers: settings from DYADWATCH_WEB_* variables."""
    env = os.environ
    cors = tuple(o for o in env.get("DYADWATCH_WEB_CORS", "").split(",") if o)
    hosts = tuple(h for h in env.get("DYADWATCH_WEB_HOSTS", "").split(",") if h) or None
    return create_app(Path(env["DYADWATCH_WEB_STORE"]), env.get("DYADWATCH_ADMIN_TOKEN") or None,
                      cache_size=int(env.get("DYADWATCH_WEB_CACHE", "256")), cors_origins=cors, allowed_hosts=hosts,
                      fetch_base_url=env.get("DYADWATCH_WEB_FETCH_BASE_URL") or None)


__all__ = ["create_app", "app_from_env", "LOOPBACK_HOSTS"]
