# expect: live
# asyncio: the parent reads lines from a child that writes one a second for 3 s.
import asyncio
import sys

CHILD = "import time\nfor i in range(3):\n    time.sleep(1)\n    print(i, flush=True)"


async def main():
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdout=asyncio.subprocess.PIPE)
    print("READY", flush=True)
    while await proc.stdout.readline():
        pass
    await proc.wait()


asyncio.run(main())
