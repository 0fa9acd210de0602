"""The pipe model against the facts it must reproduce, and against a real kernel pipe.

No process is started here: pickled lengths for the running interpreter are computed in this
process, and the property tests write into an ``os.pipe()`` with O_NONBLOCK, which reports
where a blocking writer would have gone to sleep (EAGAIN, or a short write).
"""

from __future__ import annotations

import array
import errno
import fcntl
import os
import sys
import termios
from multiprocessing.reduction import ForkingPickler

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from joinstall.model import framing, pickled, pipemodel, slots
from joinstall.model.framing import frame
from joinstall.model.slots import Outcome, simulate
from joinstall.observe import pipes
from joinstall.programs import seed

PY = sys.executable
PAGE = slots.page_size()
linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the slot model is Linux's")


# --- framing ------------------------------------------------------------------------------


def test_small_message_is_one_write_with_its_header() -> None:
    assert frame(0) == (4,)
    assert frame(16384) == (16388,)


def test_large_message_is_header_then_body() -> None:
    assert frame(16385) == (4, 16385)
    assert frame(0x7FFFFFFF) == (4, 0x7FFFFFFF)


def test_huge_message_has_a_minus_one_marker_and_an_8_byte_length() -> None:
    assert frame(0x80000000) == (4, 8, 0x80000000)


def test_python27_splits_one_byte_earlier() -> None:
    assert frame(16384, split_at=framing.PY27_SPLIT_AT) == (4, 16384)
    assert frame(16383, split_at=framing.PY27_SPLIT_AT) == (16387,)


def test_negative_length_is_refused() -> None:
    with pytest.raises(ValueError):
        frame(-1)


@given(st.integers(0, 5000), st.integers(1, 40))
def test_chunk_sizes_match_the_programs_split(size: int, puts: int) -> None:
    data = bytes(size)
    assert framing.chunk_sizes(size, puts) == [len(c) for c in seed.split(data, puts)]


# --- pickled length -----------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(0, 300), st.integers(65400, 65700), st.integers(0, 2 * 1024 * 1024)))
def test_pickled_length_is_exact(n: int) -> None:
    assert pickled.pickled_length(PY, n) == len(ForkingPickler.dumps(b"x" * n))


def test_pickled_length_for_the_reported_sizes() -> None:
    # 65514 + 18 bytes of pickle opcodes + the 4-byte header is exactly 64 KiB.
    assert pickled.pickled_length(PY, 65514) == 65532
    assert pickled.pickled_length(PY, 65515) == 65533


def test_pickled_length_above_the_table_asks_for_the_exact_size() -> None:
    n = pickled.TABLE_MAX + 3
    assert pickled.pickled_length(PY, n) == len(ForkingPickler.dumps(b"x" * n))


# --- the slot/merge rule, by hand ---------------------------------------------------------


def test_small_writes_merge_into_the_last_page() -> None:
    assert simulate([100, 100, 100], 4096) == Outcome(None, 0, 1, 300)


def test_a_write_that_does_not_fit_the_last_page_takes_a_fresh_one() -> None:
    out = simulate([4000, 200], 8192)
    assert out == Outcome(None, 0, 2, 4200)


def test_atomic_write_is_refused_whole() -> None:
    # One page holds 4000 bytes, 96 are free, but the pipe has no second slot.
    assert simulate([4000, 200], 4096) == Outcome(1, 0, 1, 4000)


def test_big_write_merges_its_remainder_then_blocks() -> None:
    # 4096 + 50: the 50-byte remainder merges into the first page, the full page finds no slot.
    assert simulate([100, 4146], 4096) == Outcome(1, 50, 1, 150)


def test_page_multiple_never_merges() -> None:
    assert simulate([100, 4096], 8192) == Outcome(None, 0, 2, 4196)


def test_capacity_below_a_page_is_refused() -> None:
    with pytest.raises(ValueError):
        simulate([1], 100)


# --- the reported facts -------------------------------------------------------------------


def test_65514_fits_and_65515_blocks_at_64k() -> None:
    assert pipemodel.fits(PY, 65514, 65536)
    assert not pipemodel.fits(PY, 65515, 65536)
    assert pipemodel.predict_threshold(PY, 65536) == 65514


def test_17_puts_of_2100_bytes_block_although_they_total_35k() -> None:
    assert pipemodel.predict_puts(PY, 2100, 65536) == 17
    assert 17 * 2100 < 36 * 1024
    assert pipemodel.fits(PY, 16 * 2100, 65536, puts=16)
    assert not pipemodel.fits(PY, 17 * 2100, 65536, puts=17)


def test_threshold_scales_with_capacity() -> None:
    # One message: header (4) and body share the slots, so pickled + 4 may fill the pipe.
    for capacity in (4096, 8192, 1 << 20):
        n = pipemodel.predict_threshold(PY, capacity)
        assert pickled.pickled_length(PY, n) + 4 == capacity


def test_empty_payloads_can_block_a_tiny_pipe() -> None:
    # 16 empty messages of 19 bytes merge into one page; 4096 // 19 of them fill it.
    assert pipemodel.predict_threshold(PY, 4096, puts=300) == -1


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([4096, 8192]), st.integers(1, 6))
def test_bisection_finds_the_first_blocking_size(capacity: int, puts: int) -> None:
    # The prediction bisects, which assumes that a bigger payload never fits where a smaller
    # one did not. Check it against a scan of every size on small pipes.
    n = pipemodel.predict_threshold(PY, capacity, puts, page_size=4096)
    first = next(s for s in range(capacity + 1) if not pipemodel.fits(PY, s, capacity, puts, 4096))
    assert n == first - 1


# --- the model against a real pipe --------------------------------------------------------


def real_pipe(writes: list[int], capacity: int) -> tuple[Outcome, int]:
    """Write into a pipe nobody reads; return what happened and the capacity the kernel gave."""
    r, w = os.pipe()
    try:
        try:
            fcntl.fcntl(w, pipes.F_SETPIPE_SZ, capacity)
        except OSError as exc:
            # pipe-user-pages-soft exceeded or a size the kernel refuses: use what we have.
            assert exc.errno in (errno.EPERM, errno.EBUSY)
        got = fcntl.fcntl(w, pipes.F_GETPIPE_SZ)
        os.set_blocking(w, False)
        blocked, accepted = None, 0
        for index, length in enumerate(writes):
            try:
                n = os.write(w, bytes(length))
            except BlockingIOError:
                blocked = index
                break
            if n < length:
                blocked, accepted = index, n
                break
        buf = array.array("i", [0])
        fcntl.ioctl(r, termios.FIONREAD, buf)
        return Outcome(blocked, accepted, -1, buf[0]), got
    finally:
        os.close(r)
        os.close(w)


WRITE = st.one_of(
    st.integers(1, 200),
    st.integers(PAGE - 8, PAGE + 8),
    st.integers(1, 3 * PAGE),
    st.integers(1, 70_000),
    st.sampled_from([4, 8, 2118, 16388, 65532]),
)


@linux_only
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(WRITE, min_size=1, max_size=60), st.sampled_from([4096, 8192, 16384, 65536, 262144]))
def test_model_agrees_with_a_real_pipe(writes: list[int], capacity: int) -> None:
    real, got = real_pipe(writes, capacity)
    model = simulate(writes, got, PAGE)
    assert (model.blocked_at, model.bytes_accepted, model.fill) == (
        real.blocked_at,
        real.bytes_accepted,
        real.fill,
    )


@linux_only
@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.sampled_from([4096, 65536]))
def test_multiput_prediction_agrees_with_a_real_pipe(message: int, capacity: int) -> None:
    per_message = list(frame(pickled.pickled_length(PY, message)))
    # Each message takes at least its own bytes, so this many overflow any of these pipes.
    writes = per_message * (capacity // sum(per_message) + 2)
    real, got = real_pipe(writes, capacity)
    per = len(per_message)
    assert real.blocked_at is not None
    assert real.blocked_at // per + 1 == pipemodel.predict_puts(PY, message, got, PAGE)


@linux_only
def test_the_reported_sizes_in_a_real_pipe() -> None:
    for size, blocks in ((65514, False), (65515, True)):
        writes = list(frame(pickled.pickled_length(PY, size)))
        real, got = real_pipe(writes, 65536)
        assert got == 65536
        assert (real.blocked_at is not None) is blocks
    two_thousand = list(frame(pickled.pickled_length(PY, 2100)))
    real, _ = real_pipe(two_thousand * 17, 65536)
    assert real.blocked_at == 16
    assert real.fill == 16 * (2100 + 22)


def test_the_model_keeps_the_names_analysis_and_the_notebooks_read() -> None:
    # analysis/series and the teaching notebooks call these through `pipemodel`.
    assert pipemodel.frame is framing.frame
    assert pipemodel.pickled_length is pickled.pickled_length
    assert pipemodel.PAGE_SIZE == slots.PAGE_SIZE
