"""Popen as a context manager; wait() before the read."""

from subprocess import PIPE, Popen

if __name__ == "__main__":
    with Popen(["head", "-c", "1048576", "/dev/zero"], stdout=PIPE) as proc:
        proc.wait()  # expect: JS102
        data = proc.stdout.read()
