"""Composition root of the Delete backend: settings, resources, the app factory and the CLI."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("delete-api")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
