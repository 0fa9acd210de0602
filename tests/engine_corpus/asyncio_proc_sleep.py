# expect: live
# asyncio: await proc.wait() on a child that prints a line after 2 s and exits (stdout=PIPE).
import asyncio
import sys

CHILD = "import time; time.sleep(2); print('done')"


async def main():
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdout=asyncio.subprocess.PIPE)
    print("READY", flush=True)
    await proc.wait()
    await proc.stdout.read()


asyncio.run(main())
