"""The package's version, in a module of its own so that outputs (brief, dashboard) can print it
without importing the package's facade."""

__version__ = "0.1.0"
