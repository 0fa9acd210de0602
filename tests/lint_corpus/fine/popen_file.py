"""Output to a file, then wait(): a file never fills like a pipe."""

import subprocess
import tempfile

if __name__ == "__main__":
    with tempfile.TemporaryFile() as f:
        proc = subprocess.Popen(["head", "-c", "1048576", "/dev/zero"], stdout=f)
        proc.wait()
        f.seek(0)
        data = f.read()
