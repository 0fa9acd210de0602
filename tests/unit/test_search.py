"""The byte-exact search with a plain predicate instead of runs: a wrong search cannot hide
behind a right model."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from joinstall.measure.probes import search


def counting(limit: int) -> tuple[list[int], Callable[[int], bool]]:
    calls: list[int] = []

    def stalls(n: int) -> bool:
        calls.append(n)
        return n > limit

    return calls, stalls


@pytest.mark.parametrize("limit", [-1, 0, 1, 4074, 65514, 999_999])
def test_search_without_a_guess_finds_the_limit(limit: int) -> None:
    calls, stalls = counting(limit)
    assert search(stalls, -1, 1_000_000) == (limit, "bisection")
    assert len(calls) <= 21


def test_a_right_guess_takes_two_probes() -> None:
    calls, stalls = counting(65514)
    assert search(stalls, -1, 65536, guess=65514) == (65514, "bracket")
    assert calls == [65514, 65515]


@pytest.mark.parametrize("guess", [0, 65513, 65515, 70000, 1_000_000, -5])
def test_a_wrong_guess_falls_back_to_bisection(guess: int) -> None:
    calls, stalls = counting(65514)
    assert search(stalls, -1, 1_000_000, guess=guess) == (65514, "bisection")
    assert len(calls) <= 2 + 21


def test_a_guess_of_minus_one_probes_zero() -> None:
    calls, stalls = counting(-1)
    assert search(stalls, -1, 100, guess=-1) == (-1, "bracket")
    assert calls == [0]


def test_the_bounds_are_never_probed() -> None:
    calls, stalls = counting(4)
    assert search(stalls, 0, 10) == (4, "bisection")
    assert 0 not in calls and 10 not in calls


@pytest.mark.parametrize("bound", [1, 2, 3, 17])
def test_a_count_search_up_to_bound_plus_one_probes_the_count_it_reports(bound: int) -> None:
    # How multiput searches puts: zero never stalls, `bound` always does. Searching up to
    # bound + 1 makes the reported first stalling count one that was really probed.
    for first in range(1, bound + 1):
        for guess in (None, first - 1, bound - 1, 0):
            calls, stalls = counting(first - 1)
            last_ok, _ = search(stalls, 0, bound + 1, guess)
            assert last_ok + 1 == first
            assert first in calls, (first, guess, calls)


def test_an_empty_range_is_refused() -> None:
    with pytest.raises(ValueError):
        search(lambda n: True, 5, 5)
