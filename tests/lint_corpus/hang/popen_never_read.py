"""stdout=PIPE to silence a command, then wait(): nobody ever reads the pipe."""

import subprocess

if __name__ == "__main__":
    subprocess.Popen(["head", "-c", "1048576", "/dev/zero"], stdout=subprocess.PIPE).wait()  # expect: JS102
