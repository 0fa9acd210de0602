# expect: live
# asyncio: the only task sleeps 3 s in await asyncio.sleep().
import asyncio


async def main():
    print("READY", flush=True)
    await asyncio.sleep(3)


asyncio.run(main())
