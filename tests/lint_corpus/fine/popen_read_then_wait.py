"""Read the pipe to its end (read(), or line by line), then wait()."""

import subprocess

if __name__ == "__main__":
    proc = subprocess.Popen(["head", "-c", "1048576", "/dev/zero"], stdout=subprocess.PIPE)
    data = proc.stdout.read()
    proc.wait()
    lines = subprocess.Popen(["seq", "100000"], stdout=subprocess.PIPE, text=True)
    count = sum(1 for _ in lines.stdout)
    lines.wait()
