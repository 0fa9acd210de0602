# expect: deadlocked
# asyncio: the parent reads all of the child's stdout, but the child echoes its stdin, which the
# parent never writes nor closes.
import asyncio
import sys

CHILD = "import sys; sys.stdout.write(sys.stdin.read())"


async def main():
    PIPE = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdin=PIPE, stdout=PIPE)
    print("READY", flush=True)
    await proc.stdout.read()
    await proc.wait()


asyncio.run(main())
