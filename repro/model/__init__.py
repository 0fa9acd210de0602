"""The pipe model: framing, pickled lengths and Linux's page slots, predicting where a stall begins."""
