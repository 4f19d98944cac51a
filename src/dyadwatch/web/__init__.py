"""The dashboard and JSON API served by `dyadwatch serve` (docs/web.md).

    from dyadwatch.web import create_app

Imported lazily: the admin jobs' child process imports `dyadwatch.web.jobs` without FastAPI.
An output: the dashboard may import the brief, the judgements, the measures and everything before
them, never the command line.
"""

from __future__ import annotations


def __getattr__(name: str):
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(f"module 'dyadwatch.web' has no attribute {name!r}")


__all__ = ["create_app"]
