"""Draw the series of ``analysis.series``: one module per figure, each ``draw(data) -> Figure``.

Figures are built on matplotlib's object API with the Agg canvas, never through pyplot, so no
global backend is switched (a notebook keeps its own) and nothing is shown on a screen.
"""
