# expect: live
# asyncio: the only task awaits a future that a thread sets after sleeping 2 s.
import asyncio
import threading
import time


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()

    def later():
        time.sleep(2)
        loop.call_soon_threadsafe(fut.set_result, 1)

    t = threading.Thread(target=later)
    t.start()
    print("READY", flush=True)
    await fut
    t.join()


asyncio.run(main())
