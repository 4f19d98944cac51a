"""Acquire: getting input files onto this machine and naming them. `fetch` downloads GDELT's files
(planned from the publisher's index, verified, resumable), `synth` writes synthetic GDELT exports for
benchmarks, `inputs` expands the paths of an ingest and hashes them. It may import `dyadwatch.errors`,
`dyadwatch.native` and `dyadwatch.knowledge`, never a later stage: what is done with a file once it
is here (reading, storing) is handed in by the caller (the command line wires fetch to the store).
Its modules import only the standard library at their top, so the command line can start hashing
before Arrow and DuckDB are loaded.
"""
