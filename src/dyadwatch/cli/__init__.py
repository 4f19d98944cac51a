"""The command line (`dyadwatch ...`): an output, the last stage, which may import every other.

`options` holds what the commands share (consoles, options, one-line errors); each command module
(`ingest`, `demo`, `measures`, `brief`, `web`, `claims`, `synth`) defines its commands as plain
functions over it; `app` builds the Typer app and registers them. `main` is the console entry point.
"""

from .app import app, main

__all__ = ["app", "main"]
