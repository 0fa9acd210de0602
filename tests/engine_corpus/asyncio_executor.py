# expect: live
# asyncio: the only task awaits run_in_executor(), whose worker thread sleeps 2 s.
import asyncio
import time


async def main():
    print("READY", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, time.sleep, 2)


asyncio.run(main())
