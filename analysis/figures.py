"""The figures of a results file: each function computes its series, draws it, returns both.

``analysis.series`` computes, ``analysis.draw`` draws; these four entry points (and ``save``)
are what the report, notebooks and users call.
"""

from __future__ import annotations

from joinstall.analysis.draw import matrix as draw_matrix
from joinstall.analysis.draw import multiput as draw_multiput
from joinstall.analysis.draw import thresholds as draw_thresholds
from joinstall.analysis.draw import timeouts as draw_timeouts
from joinstall.analysis.draw.axes import save
from joinstall.analysis.records import Results
from joinstall.analysis.series import matrix as matrix_series
from joinstall.analysis.series import multiput as multiput_series
from joinstall.analysis.series import thresholds as threshold_series
from joinstall.analysis.series import timeouts as timeout_series
from matplotlib.figure import Figure

__all__ = ["matrix", "multiput", "save", "thresholds", "timeouts"]


def timeouts(results: Results) -> tuple[Figure, timeout_series.TimeoutSeries]:
    """Where the timeouts hit: time until join returns vs payload size, one panel per variant."""
    data = timeout_series.compute(results)
    return draw_timeouts.draw(data), data


def thresholds(results: Results) -> tuple[Figure, threshold_series.ThresholdSeries]:
    """Threshold vs pipe capacity: the measured points sit on the predicted line, byte for byte."""
    data = threshold_series.compute(results)
    return draw_thresholds.draw(data), data


def multiput(results: Results) -> tuple[Figure, multiput_series.MultiputSeries]:
    """Puts until the stall vs message size: page slots make steps a byte count would not."""
    data = multiput_series.compute(results)
    return draw_multiput.draw(data), data


def matrix(results: Results) -> tuple[Figure, matrix_series.MatrixSeries]:
    """Interpreter x start method: colour says agree/disagree, the text the measured threshold."""
    data = matrix_series.compute(results)
    return draw_matrix.draw(data), data
