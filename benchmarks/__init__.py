"""Side-by-side timings, run by `make bench` (never by the tests: machines are noisy)."""
