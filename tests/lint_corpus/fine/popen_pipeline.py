"""A shell-style pipeline: the second process reads the first one's pipe."""

import subprocess

if __name__ == "__main__":
    p1 = subprocess.Popen(["head", "-c", "1048576", "/dev/zero"], stdout=subprocess.PIPE)
    p2 = subprocess.Popen(["wc", "-c"], stdin=p1.stdout, stdout=subprocess.PIPE)
    p1.stdout.close()
    out, _ = p2.communicate()
    p1.wait()
