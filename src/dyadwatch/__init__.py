"""dyadwatch: how the relationship between two states changes, measured from open event data.

    import dyadwatch
    store = dyadwatch.open(".dyadwatch")
    store.ingest(["events/"], countries=frozenset({"RUS", "TUR"}))
    table = store.events(dyad="RUS-TUR", start="2020-11-01", end="2020-11-30")   # pyarrow.Table
"""

from .version import __version__

__all__ = ["EVENT_SCHEMA", "Store", "StoreError", "open", "__version__"]

# The API is imported on first use (PEP 562): the command line starts hashing its inputs before
# Arrow and DuckDB are loaded (~0.4 s), and `import dyadwatch.cli` would load them through here.
_LAZY = {"EVENT_SCHEMA": ("knowledge.schema", "EVENT_SCHEMA"), "Store": ("store", "Store"),
         "StoreError": ("errors", "StoreError"), "open": ("store", "open_store")}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'dyadwatch' has no attribute {name!r}")
    import importlib

    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(f".{module}", __name__), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
