"""The Spark engine: the measures' one SQL definition, transpiled from DuckDB's dialect to Spark SQL by
sqlglot, run through PySpark on `local[*]` or on a cluster (`session(master="spark://host:7077")`).

What runs where: the driver (this process) reads the store's catalog (which parts are recorded, the
daily totals) and the leaders file, transpiles the SQL and collects each result as Arrow; the
executors scan the Parquet parts and run every join and aggregate. Parameters stay parameters (Spark's
positional `?` markers), never text pasted into the SQL.

The store must be visible at the same path from the driver and every executor (one machine, or a
shared file system): parts are read by `file://` URI.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import pyarrow as pa
import sqlglot

from ..knowledge.schema import EVENT_COLUMNS, EVENT_SCHEMA
from ..knowledge.leaders import leaders_table
from .base import Engine, EngineError

# every session: UTC (event dates and timestamps are UTC), DuckDB's semantics where the dialects differ
SESSION_CONF = {
    "spark.sql.session.timeZone": "UTC",
    # x / 0 is NULL rather than an error (the SQL guards its divisions; this is the safety net)
    "spark.sql.ansi.enabled": "false",
    # hive folders source=gdelt2/year=2020/month=11: keep `source` text whatever it looks like
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.sql.parquet.compression.codec": "zstd",
    "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
}
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
LOCAL_DRIVER_MEMORY = "4g"  # a cap, not an allocation: local mode runs the executors in the driver

warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)


def require_spark() -> None:
    """Raise EngineError (one line) unless pyspark and a Java runtime are installed."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise EngineError("--engine spark needs pyspark: pip install 'dyadwatch[spark]' (and Java 17 or later)") from None
    home = os.environ.get("JAVA_HOME")
    java = (Path(home) / "bin" / "java") if home else None
    if not ((java and java.exists()) or shutil.which("java")):
        raise EngineError("--engine spark needs Java 17 or later: no `java` on PATH or in JAVA_HOME")


def _cores(master: str) -> int:
    """Cores of a local master: local -> 1, local[4] -> 4, local[*] -> all."""
    if "[" not in master:
        return 1
    first = master[master.find("[") + 1 : master.find("]")].split(",")[0]
    return max(1, int(first)) if first.isdigit() else os.cpu_count() or 1


def session(master: str | None = None):
    """The process's SparkSession: the running one, or a new one on `master` (default local[*]).

    Local sessions run without the web UI, with 2 shuffle partitions per core (Spark's 200 are for
    clusters; on a laptop they are 200 tiny tasks per shuffle) and errors-only logging."""
    require_spark()
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    if running is not None and running.sparkContext._jsc is not None:
        if master is None or running.sparkContext.master == master:
            return running
        raise EngineError(f"a Spark session on {running.sparkContext.master} is already running in this process; "
                          f"cannot start another on {master}")
    master = master or os.environ.get("DYADWATCH_SPARK_MASTER") or "local[*]"
    local = master.startswith("local")
    if local:  # the Python workers must be this interpreter, which has dyadwatch installed
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("dyadwatch").master(master)
    builder = builder.config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
    builder = builder.config("spark.driver.extraJavaOptions", f"-Dlog4j.configurationFile={LOG_CONFIG.as_uri()}")
    for k, v in SESSION_CONF.items():
        builder = builder.config(k, v)
    if local:
        builder = builder.config("spark.sql.shuffle.partitions", str(2 * _cores(master)))
        builder = builder.config("spark.default.parallelism", str(2 * _cores(master)))
        builder = builder.config("spark.driver.memory", os.environ.get("DYADWATCH_SPARK_MEMORY", LOCAL_DRIVER_MEMORY))
    try:
        spark = builder.getOrCreate()
    except Exception as exc:  # Java gateway failures and the like: one line
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EngineError(f"cannot start Spark on {master}: {first}") from None
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@lru_cache(maxsize=1024)
def to_spark(query: str) -> str:
    """A DuckDB-dialect query in Spark SQL (sqlglot); `?` parameters stay parameters."""
    try:
        out = sqlglot.transpile(query, read="duckdb", write="spark")
    except sqlglot.errors.SqlglotError as exc:
        raise EngineError(f"cannot translate a query to Spark SQL: {str(exc).splitlines()[0]}") from None
    if len(out) != 1:
        raise EngineError(f"expected one SQL statement, got {len(out)}")
    return out[0]


def events_frame(spark, store):
    """The store's recorded parts as a DataFrame in the canonical column order (source from the path)."""
    parts = store.part_paths()
    if not parts:
        return spark.createDataFrame(EVENT_SCHEMA.empty_table())
    base = file_uri((Path(store.root) / "events").resolve())
    df = spark.read.option("basePath", base).parquet(*[file_uri(p) for p in parts])
    return df.select(*EVENT_COLUMNS)


def file_uri(path) -> str:
    """A local path as Hadoop wants it: file:// and the path as is (Path.as_uri() would escape the
    `=` of the hive folders, which Hadoop then reads literally)."""
    return "file://" + Path(path).resolve().as_posix()


class SparkEngine(Engine):
    """Runs the measures on Spark. Each engine works in its own `newSession()` of the shared session, so
    two engines open at once (a claim's partner ranking inside a claims run) never see each other's
    temporary relations."""

    name = "spark"

    def __init__(self, spark=None):
        base = spark if spark is not None else session()
        self.spark = base.newSession()
        for k, v in SESSION_CONF.items():
            self.spark.conf.set(k, v)
        self._frames: dict[str, object] = {}  # relation -> DataFrame we persisted (unpersisted on close)

    @classmethod
    def over_store(cls, store, spark=None) -> "SparkEngine":
        eng = cls(spark)
        events_frame(eng.spark, store).createOrReplaceTempView("events")
        eng.register("daily_totals", store.daily_totals())
        eng.register("leaders", leaders_table())
        return eng

    def frame(self, query: str, params: Sequence | None = None):
        """The query as a Spark DataFrame (lazy)."""
        return self.spark.sql(to_spark(query), args=list(params) if params else None)

    def sql(self, query: str, params: Sequence | None = None) -> pa.Table:
        return self.frame(query, params).toArrow()

    def create_temp_table(self, name: str, query: str, params: Sequence | None = None) -> None:
        from pyspark import StorageLevel

        df = self.frame(query, params).persist(StorageLevel.MEMORY_AND_DISK)
        df.count()  # materialise now, once: every later query reads the cached rows
        self._replace(name, df, persisted=True)

    def create_temp_view(self, name: str, query: str) -> None:
        self._replace(name, self.frame(query), persisted=False)

    def register(self, name: str, table: pa.Table) -> None:
        self._replace(name, self.spark.createDataFrame(table), persisted=False)

    def unregister(self, name: str) -> None:
        self.spark.catalog.dropTempView(name)
        old = self._frames.pop(name, None)
        if old is not None:
            old.unpersist()

    def _replace(self, name: str, df, persisted: bool) -> None:
        if not name.isidentifier():
            raise ValueError(f"not a relation name: {name!r}")
        old = self._frames.pop(name, None)
        df.createOrReplaceTempView(name)
        if old is not None:
            old.unpersist()
        if persisted:
            self._frames[name] = df

    def close(self) -> None:
        for name in list(self._frames):
            self.unregister(name)


__all__ = ["SparkEngine", "events_frame", "require_spark", "session", "to_spark"]
