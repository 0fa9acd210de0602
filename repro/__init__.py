"""joinstall: reproduce, prove and explain the multiprocessing join-before-get stall."""

from importlib import metadata

try:
    __version__ = metadata.version("joinstall")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"
