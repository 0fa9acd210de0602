"""Only stderr is a pipe; the child writes a lot to it."""

import subprocess
import sys

CHILD = "import sys; sys.stderr.write('x' * (1 << 20))"

if __name__ == "__main__":
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stderr=subprocess.PIPE)
    code = proc.wait()  # expect: JS102
    err = proc.stderr.read()
