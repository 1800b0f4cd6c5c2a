"""Parmenid: the corporate-site API and PresentAI on one shared backend."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("parmenid")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"
