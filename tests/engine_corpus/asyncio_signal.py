# expect: live
# asyncio: the only task awaits a future set by a SIGUSR1 handler; a helper process sends the
# signal after 2 s.
import asyncio
import os
import signal
import subprocess


async def main():
    loop = asyncio.get_running_loop()
    fut = loop.create_future()
    loop.add_signal_handler(signal.SIGUSR1, fut.set_result, None)
    helper = subprocess.Popen(["sh", "-c", "sleep 2; kill -USR1 %d" % os.getpid()])
    print("READY", flush=True)
    await fut
    helper.wait()


asyncio.run(main())
