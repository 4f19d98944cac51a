"""schemathesis against the app's own OpenAPI schema (/openapi.json), in process (ASGI): generated queries,
valid and invalid, for every read endpoint; no answer may be a server error, every answer must match its
documented status, content type and schema. Bounded: a few dozen examples per operation.

/api/brief is left out: each example would build a whole brief (and print a PDF with Chromium); its
answers are tested one by one in test_web_api.py.
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import (  # noqa: E402
    content_type_conformance, not_a_server_error, response_schema_conformance, status_code_conformance,
)

from test_web_support import build_shift_store  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from dyadwatch.web import create_app  # noqa: E402


# The schema is loaded at import (schemathesis' lazy `from_fixture` fails on pytest 9: it sets a private
# node attribute); it does not depend on the store, which the fixture below fills before any test runs.
STORE_ROOT = Path(tempfile.mkdtemp(prefix="dyadwatch-schemathesis-"))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(STORE_ROOT / "store")).exclude(path="/api/brief")


@pytest.fixture(scope="module", autouse=True)
def shift_store():
    build_shift_store(STORE_ROOT)
    yield
    shutil.rmtree(STORE_ROOT, ignore_errors=True)


@schema.parametrize()
@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])
def test_api_answers_every_generated_query_without_a_server_error(case):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, status_code_conformance, content_type_conformance,
                                             response_schema_conformance])
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}
