"""The input formats dyadwatch reads, by the names `--source` takes (`dyadwatch.sources` defines
them). Standard library only: the command line checks `--source` before it imports Arrow."""

SOURCE_NAMES = ("gdelt2", "gdelt2-translingual", "gdelt1", "icews")
