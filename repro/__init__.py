"""joinstall: reproduce, prove and explain the multiprocessing join-before-get stall."""

from importlib import metadata

try:
    __version__ = metadata.version("joinstall")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "diagnose"]


def __getattr__(name: str) -> object:
    # Lazy: ``import joinstall`` (the pytest plugin's start-up, the CLI) does not pay for the engine.
    if name == "diagnose":
        from joinstall.engine import diagnose

        return diagnose
    raise AttributeError(f"module 'joinstall' has no attribute {name!r}")
