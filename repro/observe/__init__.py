"""Watching processes from outside: /proc, pipes, sampling, and the pure verdict."""
