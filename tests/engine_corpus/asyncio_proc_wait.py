# expect: stalled
# asyncio: await proc.wait() with stdout=PIPE unread; the child blocks writing 3 MB.
import asyncio
import sys

CHILD = "import sys; sys.stdout.write('x' * 3_000_000)"


async def main():
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdout=asyncio.subprocess.PIPE)
    print("READY", flush=True)
    await proc.wait()
    await proc.stdout.read()


asyncio.run(main())
