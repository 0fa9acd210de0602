"""Output to DEVNULL, then wait(): no pipe to fill."""

import subprocess

if __name__ == "__main__":
    proc = subprocess.Popen(["head", "-c", "1048576", "/dev/zero"], stdout=subprocess.DEVNULL)
    proc.wait()
