"""Measures: what the events say about a dyad, as Arrow tables. `frame` builds the classified,
de-duplicated events every measure starts from; `indicators`, `contacts`, `compare` and `shifts`
measure; `api` is the public entry point (`dyadwatch.measures.api`). A measure is SQL handed to an
engine: it may import `engines`, the store (to open one), `knowledge` and the base modules, never a
judgement or an output, and it knows nothing of where the events came from.
"""
