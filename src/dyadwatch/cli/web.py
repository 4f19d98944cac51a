"""CLI: `dyadwatch serve`, the dashboard and JSON API over a store (docs/web.md)."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Optional

import typer

from .options import StoreOption, err, fail, store_at

MIN_TOKEN = 16  # characters: a short admin token is guessable


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    store: Optional[Path] = StoreOption,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (loopback by default)"),
    port: int = typer.Option(8000, "--port", help="Port to listen on"),
    admin_token: Optional[str] = typer.Option(
        None, "--admin-token", envvar="DYADWATCH_ADMIN_TOKEN",
        help="Enable POST /api/admin/ingest and /api/admin/fetch, guarded by this bearer token "
             f"(at least {MIN_TOKEN} characters; or set $DYADWATCH_ADMIN_TOKEN) [default: read-only, no such endpoints]"),
    workers: int = typer.Option(1, "--workers", help="Server processes (each with its own cache)"),
    no_cache: bool = typer.Option(False, "--no-cache", help="Compute every answer afresh (benchmarks)"),
    cache_size: int = typer.Option(256, "--cache-size", help="Results kept in each process's cache"),
    cors_origin: Optional[list[str]] = typer.Option(
        None, "--cors-origin", help="Let pages of this origin read the API (GET only; repeatable) [default: none]"),
    fetch_base_url: Optional[str] = typer.Option(
        None, "--fetch-base-url", help="Mirror of GDELT's file server for /api/admin/fetch"),
    log_level: str = typer.Option("warning", "--log-level", help="uvicorn's log level: warning, info, debug"),
):
    """Serve the dashboard (pages, charts) and the read-only JSON API over the store, on loopback by default."""
    import uvicorn

    st = store_at(store)
    if admin_token is not None and len(admin_token.strip()) < MIN_TOKEN:
        fail(f"--admin-token must be at least {MIN_TOKEN} characters (e.g. `python -c 'import secrets; "
             "print(secrets.token_urlsafe(24))'`)")
    if not 1 <= port <= 65535:
        fail(f"--port {port}: use 1 to 65535")
    if workers < 1:
        fail("--workers must be at least 1")
    if not st.exists():
        if not admin_token:
            fail(f"{st.root}: no dyadwatch store here (run `dyadwatch ingest` first)")
        err.print(f"note: {st.root} holds no store yet: the API answers 503 until a file is ingested "
                  "(POST /api/admin/ingest)", highlight=False, soft_wrap=True)
    loopback = _is_loopback(host)
    if not loopback:
        err.print(f"[yellow]note:[/yellow] listening on {host}: anyone who can reach it can read the store"
                  + ("; the admin token travels in clear text over plain HTTP" if admin_token else ""),
                  highlight=False, soft_wrap=True)
    # on loopback, answer only to loopback names: a page elsewhere cannot reach the API by DNS rebinding
    hosts = ("127.0.0.1", "localhost", "[::1]") if loopback else None
    env = {
        "DYADWATCH_WEB_STORE": str(st.root.resolve()),
        "DYADWATCH_WEB_CACHE": "0" if no_cache else str(max(0, cache_size)),
        "DYADWATCH_WEB_CORS": ",".join(cors_origin or []),
        "DYADWATCH_WEB_HOSTS": ",".join(hosts or ()),
        "DYADWATCH_WEB_FETCH_BASE_URL": fetch_base_url or "",
        "DYADWATCH_ADMIN_TOKEN": admin_token.strip() if admin_token else "",
    }
    os.environ.update(env)  # the factory reads them, in this process or in each worker
    err.print(f"dyadwatch: serving {st.root} on http://{host if ':' not in host else '[' + host + ']'}:{port}/ "
              f"({'admin endpoints on' if admin_token else 'read-only'}; Ctrl-C to stop)", highlight=False)
    uvicorn.run("dyadwatch.web.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=False, server_header=False, proxy_headers=False)


__all__ = ["serve"]
