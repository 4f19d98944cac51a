"""The store: events kept as Parquet parts under a DuckDB catalog, in one folder, with no server.

`facade.Store` is what a reader queries (and the way in for writing); `catalog` records what is
visible, `pipeline` ingests files in atomic batches, `parts` writes the Parquet parts, `compaction`
sorts them by country pair and `dyad_index` builds the index over them. The store may import
`sources` (its pipeline reads files through them), `acquire.inputs` (which files, their MD5s),
`knowledge` and the base modules (`errors`, `native`), never a later stage (engines, measures,
judgements, outputs).
"""

from ..errors import StoreError
from .catalog import CATALOG_DDL
from .compaction import COMPACT_ROW_GROUP, CompactReport
from .facade import Store, default_store_path, open_store
from .parts import PART_SCHEMA, part_writer
from .pipeline import IngestReport

__all__ = ["CATALOG_DDL", "COMPACT_ROW_GROUP", "CompactReport", "IngestReport", "PART_SCHEMA", "Store",
           "StoreError", "default_store_path", "open_store", "part_writer"]
