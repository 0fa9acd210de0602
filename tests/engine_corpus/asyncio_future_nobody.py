# expect: deadlocked
# asyncio: the only task awaits a future that nothing will ever set.
import asyncio


async def main():
    fut = asyncio.get_running_loop().create_future()
    print("READY", flush=True)
    await fut


asyncio.run(main())
