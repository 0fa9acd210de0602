# expect: live
# asyncio: the parent reads the child's stdout; the child echoes its stdin, which another task
# writes and closes after 2 s.
import asyncio
import sys

CHILD = "import sys; sys.stdout.write(sys.stdin.read())"


async def feed(proc):
    await asyncio.sleep(2)
    proc.stdin.write(b"ping\n")
    await proc.stdin.drain()
    proc.stdin.close()


async def main():
    PIPE = asyncio.subprocess.PIPE
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdin=PIPE, stdout=PIPE)
    feeder = asyncio.ensure_future(feed(proc))
    print("READY", flush=True)
    await proc.stdout.read()
    await feeder
    await proc.wait()


asyncio.run(main())
