"""dyadwatch: how the relationship between two states changes, measured from open event data.

    import dyadwatch
    store = dyadwatch.open(".dyadwatch")
    store.ingest(["events/"], countries=frozenset({"RUS", "TUR"}))
    table = store.events(dyad="RUS-TUR", start="2020-11-01", end="2020-11-30")   # pyarrow.Table
"""

from .schema import EVENT_SCHEMA
from .store import Store, StoreError, open_store

open = open_store  # dyadwatch.open(path), as the docs say

__version__ = "0.1.0"
__all__ = ["EVENT_SCHEMA", "Store", "StoreError", "open", "__version__"]
