# expect: live
# asyncio: the only task awaits a future that nothing sets, with wait_for(timeout=2.5).
import asyncio


async def main():
    fut = asyncio.get_running_loop().create_future()
    print("READY", flush=True)
    try:
        await asyncio.wait_for(fut, 2.5)
    except asyncio.TimeoutError:
        pass


asyncio.run(main())
