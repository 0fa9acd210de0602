"""Threshold and multi-put records round-trip through JSON, with their probe traces."""

from __future__ import annotations

import json
import sys

from joinstall.measure.measurements import MultiputResult, Probe, ThresholdResult

PY = sys.executable


def test_threshold_record_round_trips() -> None:
    res = ThresholdResult(PY, "3.11.7", "fork", 0, 65536, 1, 65514, 65514, True, 2, 0.3,
                          trace=(Probe(65514, 1, False, 0.1, 65536),))  # fmt: skip
    record = json.loads(json.dumps(res.to_record()))
    assert record["kind"] == "threshold"
    assert ThresholdResult.from_record(record) == res
    assert res.to_record("matrix")["kind"] == "matrix"


def test_multiput_record_round_trips_and_is_keyed_by_its_configuration() -> None:
    res = MultiputResult("buggy", 2100, 65536, 17, 17, True, True, 2, 0.2, PY, "3.11.7", "fork", 0, "fast",
                         "bracket", trace=(Probe(33600, 16, False, 0.1, 65536), Probe(35700, 17, True, 0.1, 65536)))  # fmt: skip
    record = json.loads(json.dumps(res.to_record()))
    assert record["kind"] == "multiput"
    assert record["key"] == "multiput:buggy:3.11.7:fork:65536:2100:fast"
    assert MultiputResult.from_record(record) == res
