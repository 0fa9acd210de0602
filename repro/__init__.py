"""joinstall: reproduce, prove and explain the multiprocessing join-before-get stall."""

__all__ = ["__version__", "diagnose"]


def __getattr__(name: str) -> object:
    # Lazy: ``import joinstall`` (the pytest plugin's start-up, every command) pays neither for
    # the engine nor for ``importlib.metadata`` (50 ms: it imports email and zipfile) until asked.
    if name == "diagnose":
        from joinstall.engine import diagnose

        return diagnose
    if name == "__version__":
        from importlib import metadata

        try:
            version = metadata.version("joinstall")
        except metadata.PackageNotFoundError:  # a checkout that was never installed
            version = "0+unknown"
        globals()["__version__"] = version
        return version
    raise AttributeError(f"module 'joinstall' has no attribute {name!r}")
