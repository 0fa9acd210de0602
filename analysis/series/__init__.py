"""What the figures plot, computed from records: plain numbers, no drawing and no processes.

One module per figure (``timeouts``, ``thresholds``, ``multiput``, ``matrix``), each with a
``compute(results)``; ``analysis.draw`` draws exactly what these return, so tests can compare
what is on the axes with what was computed.
"""
