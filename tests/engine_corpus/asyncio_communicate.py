# expect: live
# asyncio: await proc.communicate() on a child that sleeps 2 s and then writes 3 MB to stdout.
import asyncio
import sys

CHILD = "import sys, time; time.sleep(2); sys.stdout.write('x' * 3_000_000)"


async def main():
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", CHILD, stdout=asyncio.subprocess.PIPE)
    print("READY", flush=True)
    await proc.communicate()


asyncio.run(main())
