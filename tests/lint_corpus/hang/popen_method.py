"""The Popen lives on self: one method starts it, another waits and then reads."""

import subprocess


class Command:
    def __init__(self, argv):
        self.argv = argv

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE)

    def finish(self):
        status = self.proc.wait()  # expect: JS102
        return status, self.proc.stdout.read()


if __name__ == "__main__":
    cmd = Command(["head", "-c", "1048576", "/dev/zero"])
    cmd.start()
    cmd.finish()
