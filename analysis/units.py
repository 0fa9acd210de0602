"""Byte counts in the units people read pipe sizes in (4 KiB pages, 64 KiB pipes)."""

from __future__ import annotations


def human_bytes(n: float) -> str:
    """``65536`` -> ``64 KiB``; exact binary multiples stay short, others keep one decimal."""
    for unit, scale in (("MiB", 1024**2), ("KiB", 1024)):
        if n >= scale:
            value = n / scale
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{int(n)} B"
