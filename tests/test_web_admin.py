"""The write endpoints: absent without an admin token, refused without the right bearer token, ingest of
an uploaded file (never a path), fetch of a date range from a local GDELT mirror; and `dyadwatch serve`'s
own checks. One test runs the real server with --admin-token and uploads a file to it."""

from __future__ import annotations

import functools
import hashlib
import http.server
import subprocess
import sys
import threading
import warnings

import httpx
import pytest

from dyadwatch.store import Store

from conftest import KARABAKH
from test_web_support import Server

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from dyadwatch.web import create_app  # noqa: E402

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DAY1 = KARABAKH / "20201113.export.CSV.zip"


@pytest.fixture
def admin(tmp_path):
    store = Store(tmp_path / "store")
    with TestClient(create_app(store, admin_token=TOKEN), raise_server_exceptions=False) as c:
        yield c, store


def error_of(r, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert list(body) == ["error"]
    return body["error"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer wrong-token"},
                                     {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"},
                                     {"Authorization": f"Bearer {TOKEN[:-1]}"}, {"X-Admin-Token": TOKEN}])
def test_bad_tokens_are_401(admin, headers):
    c, store = admin
    r = c.post("/api/admin/ingest", content=DAY1.read_bytes(), headers=headers)
    assert error_of(r, 401) in ("wrong admin token", "this endpoint needs the admin token: Authorization: Bearer <token>")
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert error_of(c.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-13"}, headers=headers), 401)
    assert not store.exists()  # nothing was written


def test_ingest_an_uploaded_file(admin):
    c, store = admin
    assert "no dyadwatch store here" in error_of(c.get("/api/events", params={"dyad": "RUS-TUR"}), 503)
    r = c.post("/api/admin/ingest", params={"name": DAY1.name, "countries": "RUS,TUR"}, content=DAY1.read_bytes(),
               headers=AUTH)
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["files"], report["skipped"], report["failed"]) == (1, 0, [])
    assert report["rows_stored"] == store.status()["events"] > 0
    total = c.get("/api/events", params={"dyad": "RUS-TUR"}).json()["total"]
    assert total == store.events(dyad="RUS-TUR").num_rows > 0
    assert store.manifest().column("name").to_pylist() == [DAY1.name]
    again = c.post("/api/admin/ingest", params={"name": DAY1.name}, content=DAY1.read_bytes(), headers=AUTH).json()
    assert (again["files"], again["skipped"]) == (0, 1)  # idempotent, by content
    # no name: the format is still found from the content (a zip)
    other = KARABAKH / "20201114.export.CSV.zip"
    r = c.post("/api/admin/ingest", content=other.read_bytes(), headers=AUTH)
    assert r.status_code == 200 and r.json()["files"] == 1
    assert c.get("/api/events", params={"dyad": "RUS-TUR"}).json()["total"] > total  # not the old cached answer


@pytest.mark.parametrize("name", ["../evil.CSV", "/etc/passwd", "a/b.CSV", ".hidden", "x" * 200, "a b.CSV", "..",
                                  "C:\\x.CSV"])
def test_upload_names_cannot_be_paths(admin, name):
    c, store = admin
    r = c.post("/api/admin/ingest", params={"name": name}, content=DAY1.read_bytes(), headers=AUTH)
    assert "name" in error_of(r, 422)
    assert not store.exists()


def test_ingest_refuses_bad_requests(admin):
    c, store = admin
    assert "empty" in error_of(c.post("/api/admin/ingest", content=b"", headers=AUTH), 400)
    assert "unknown CAMEO country code" in error_of(
        c.post("/api/admin/ingest", params={"countries": "RUS,XXX"}, content=b"x", headers=AUTH), 400)
    assert "source" in error_of(c.post("/api/admin/ingest", params={"source": "csv"}, content=b"x", headers=AUTH), 422)
    # a file that is not event data is reported, not stored
    r = c.post("/api/admin/ingest", params={"name": "notes.CSV"}, content=b"hello\tworld\n", headers=AUTH)
    assert r.status_code == 200 and r.json()["files"] == 0 and len(r.json()["failed"]) == 1
    assert "Traceback" not in r.text


@pytest.fixture
def gdelt_mirror(tmp_path):
    """Three real exports served as three 15-minute slots of 2020-11-13, with GDELT's index."""
    root = tmp_path / "www" / "gdeltv2"
    root.mkdir(parents=True)
    slots = {"20201113000000": "20201113.export.CSV.zip", "20201113001500": "20201114.export.CSV.zip"}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path / "www"))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    base = f"http://127.0.0.1:{server.server_port}/gdeltv2/"
    lines = []
    for slot, real in slots.items():
        data = (KARABAKH / real).read_bytes()
        (root / f"{slot}.export.CSV.zip").write_bytes(data)
        lines.append(f"{len(data)} {hashlib.md5(data).hexdigest()} {base}{slot}.export.CSV.zip")
    (root / "masterfilelist.txt").write_text("\n".join(lines) + "\n")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base
    server.shutdown()


def test_fetch_a_day_from_a_mirror(tmp_path, gdelt_mirror):
    store = Store(tmp_path / "store")
    with TestClient(create_app(store, admin_token=TOKEN, fetch_base_url=gdelt_mirror),
                    raise_server_exceptions=False) as c:
        r = c.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-13", "countries": "RUS,TUR"},
                   headers=AUTH)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["complete"] is False  # 96 slots, 2 served
        assert sum(1 for line in report["coverage"] if line.startswith("missing")) == 94
        assert report["ingest"]["files"] == 2
        assert sorted(p.name for p in (store.root / "downloads" / "gdelt2").glob("*.zip")) == [
            "20201113000000.export.CSV.zip", "20201113001500.export.CSV.zip"]
        assert c.get("/api/status").json()["files"] == 2
        assert "at most 31 days" in error_of(c.post("/api/admin/fetch", json={"from": "2020-01-01", "to": "2020-03-01"},
                                                    headers=AUTH), 400)
        assert "before" in error_of(c.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-12"},
                                           headers=AUTH), 400)
        assert "not a date" in error_of(c.post("/api/admin/fetch", json={"from": "2020-11-31", "to": "2020-12-01"},
                                               headers=AUTH), 400)
        # the request names no URL and no folder: unknown fields are refused
        assert "base_url" in error_of(c.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-13",
                                                                       "base_url": "http://evil/"}, headers=AUTH), 422)
        assert "dest" in error_of(c.post("/api/admin/fetch", json={"from": "2020-11-13", "to": "2020-11-13",
                                                                   "dest": "/etc"}, headers=AUTH), 422)


def test_admin_endpoints_are_in_the_schema_only_with_a_token(admin, tmp_path):
    c, _ = admin
    paths = c.get("/openapi.json").json()["paths"]
    assert "/api/admin/ingest" in paths and "/api/admin/fetch" in paths
    with TestClient(create_app(tmp_path / "store")) as ro:
        assert not any(p.startswith("/api/admin") for p in ro.get("/openapi.json").json()["paths"])


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dyadwatch", "serve", *args], capture_output=True, text=True,
                          timeout=60)


def test_serve_refuses_a_short_token_and_a_missing_store(tmp_path):
    r = _serve("--store", str(tmp_path / "none"))
    assert r.returncode == 1 and "no dyadwatch store here" in r.stderr and "Traceback" not in r.stderr
    r = _serve("--store", str(tmp_path / "none"), "--admin-token", "short")
    assert r.returncode == 1 and "--admin-token must be at least 16 characters" in r.stderr
    r = _serve("--store", str(tmp_path / "none"), "--port", "70000")
    assert r.returncode == 1 and "--port 70000" in r.stderr


def test_real_server_admin_upload_then_read(tmp_path):
    """`dyadwatch serve` with the token (from $DYADWATCH_ADMIN_TOKEN) on an empty folder: upload a file, read
    it back; a read-only server on the same store has no such endpoint."""
    store = tmp_path / "store"
    srv = Server(store, env={"DYADWATCH_ADMIN_TOKEN": TOKEN}, ready=(503,))
    try:
        base = srv.base
        r = httpx.post(f"{base}/api/admin/ingest", params={"name": DAY1.name}, content=DAY1.read_bytes(),
                       headers={"Authorization": "Bearer nope-nope-nope-nope"})
        assert r.status_code == 401
        r = httpx.post(f"{base}/api/admin/ingest", params={"name": DAY1.name}, content=DAY1.read_bytes(),
                       headers=AUTH, timeout=120)
        assert r.status_code == 200, r.text
        assert r.json()["files"] == 1
        status = httpx.get(f"{base}/api/status").json()
        assert status["files"] == 1 and status["admin"] is True
        assert httpx.get(f"{base}/api/events", params={"dyad": "RUS-TUR"}).json()["total"] == \
            Store(store).events(dyad="RUS-TUR").num_rows
    finally:
        log = srv.stop()
    assert "Traceback" not in log
    ro = Server(store)
    try:
        assert httpx.post(f"{ro.base}/api/admin/ingest", content=b"x", headers=AUTH).status_code == 404
        assert httpx.get(f"{ro.base}/api/status").json()["admin"] is False
    finally:
        ro.stop()
