"""Options parsed at the edge: byte counts in ASCII with a unit, pipe sizes the kernel keeps."""

from __future__ import annotations

import argparse

import pytest
from joinstall import options


@pytest.mark.parametrize(
    ("text", "value"), [("65515", 65515), ("64KiB", 65536), ("1M", 1 << 20), ("2kb", 2000), ("0", 0)]
)
def test_sizes_in_ascii_digits_with_a_unit(text: str, value: int) -> None:
    assert options.size(text) == value


@pytest.mark.parametrize(
    "text", ["١٢٣", "\uff11\uff12\uff13", "12³", "²", "1_000", " 5", "1.5", "-1", "5 KiB", "3PiB", ""]
)
def test_anything_else_is_not_a_size(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="not a byte count"):
        options.size(text)


@pytest.mark.parametrize("text", ["0", "4KiB", "8192", "64KiB", "1MiB"])
def test_pipe_sizes_the_kernel_keeps(text: str) -> None:
    assert options.pipe_size(text) == options.size(text)


@pytest.mark.parametrize(("text", "rounded"), [("5000", "8,192"), ("12KiB", "16,384"), ("65535", "65,536")])
def test_pipe_sizes_the_kernel_would_round_are_refused_with_the_accepted_ones(
    text: str, rounded: str
) -> None:
    with pytest.raises(argparse.ArgumentTypeError) as err:
        options.pipe_size(text)
    assert f"up to {rounded} bytes" in str(err.value)
    assert "4KiB, 8KiB, 16KiB" in str(err.value)
