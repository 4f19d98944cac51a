"""The canonical event schema: every source maps its rows into this one Arrow schema.

This is the one place the schema is defined; docs/schema.md explains each field. Code columns are
always text so CAMEO's leading zeros survive ("042", "04"). Geo country codes are FIPS 10-4 as GDELT
publishes them (RS = Russia, TU = Turkey); actor country codes are CAMEO (RUS, TUR).
"""

from __future__ import annotations

import pyarrow as pa

ACTOR_FIELDS = ("code", "name", "country", "known_group", "type1", "type2", "type3")

EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.int64(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("event_date", pa.date32(), nullable=False),
        pa.field("date_added", pa.timestamp("s")),
        *[pa.field(f"actor1_{f}", pa.string()) for f in ACTOR_FIELDS],
        *[pa.field(f"actor2_{f}", pa.string()) for f in ACTOR_FIELDS],
        pa.field("is_root_event", pa.bool_()),
        pa.field("event_code", pa.string()),
        pa.field("event_base_code", pa.string()),
        pa.field("event_root_code", pa.string()),
        pa.field("quad_class", pa.int8()),
        pa.field("goldstein", pa.float64()),
        pa.field("num_mentions", pa.int32()),
        pa.field("num_sources", pa.int32()),
        pa.field("num_articles", pa.int32()),
        pa.field("avg_tone", pa.float64()),
        pa.field("action_geo_type", pa.int8()),
        pa.field("action_geo_fullname", pa.string()),
        pa.field("action_geo_country", pa.string()),
        pa.field("action_geo_adm1", pa.string()),
        pa.field("action_geo_lat", pa.float64()),
        pa.field("action_geo_lon", pa.float64()),
        pa.field("source_url", pa.string()),
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
    ]
)

EVENT_COLUMNS = tuple(EVENT_SCHEMA.names)

# Quarantine: rows that could not be read, with where they came from and why.
QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string(), nullable=False),
        pa.field("source_line", pa.int64(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("raw", pa.string()),
    ]
)

# Events per day before any country filter: later measures normalise by it.
DAILY_TOTALS_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("events", pa.int64(), nullable=False),
    ]
)


def empty_events() -> pa.Table:
    return EVENT_SCHEMA.empty_table()


# The GDELT event columns the canonical schema takes (`sources.gdelt.CANONICAL`), in GDELT's order: what a
# BigQuery query selects (`acquire.bigquery`), and no more (BigQuery bills by the bytes of the columns read).
GDELT_QUERY_COLUMNS = (
    "GLOBALEVENTID", "SQLDATE",
    "Actor1Code", "Actor1Name", "Actor1CountryCode", "Actor1KnownGroupCode", "Actor1Type1Code",
    "Actor1Type2Code", "Actor1Type3Code",
    "Actor2Code", "Actor2Name", "Actor2CountryCode", "Actor2KnownGroupCode", "Actor2Type1Code",
    "Actor2Type2Code", "Actor2Type3Code",
    "IsRootEvent", "EventCode", "EventBaseCode", "EventRootCode", "QuadClass", "GoldsteinScale",
    "NumMentions", "NumSources", "NumArticles", "AvgTone",
    "ActionGeo_Type", "ActionGeo_FullName", "ActionGeo_CountryCode", "ActionGeo_ADM1Code", "ActionGeo_Lat",
    "ActionGeo_Long", "DATEADDED", "SOURCEURL",
)
