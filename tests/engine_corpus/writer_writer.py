# expect: stalled
# Writer-writer: the parent writes a large input into cat's stdin without reading cat's stdout.
import subprocess

cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
print("READY", flush=True)
cat.stdin.write(b"x" * 1_000_000)
cat.stdin.close()
cat.stdout.read()
