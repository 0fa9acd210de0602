"""subprocess.run and check_output read their pipes themselves."""

import subprocess

if __name__ == "__main__":
    done = subprocess.run(["head", "-c", "1048576", "/dev/zero"], capture_output=True, check=True)
    data = subprocess.check_output(["head", "-c", "1048576", "/dev/zero"])
