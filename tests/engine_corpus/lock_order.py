# expect: deadlocked
# Two threads take two locks in opposite orders.
import threading

a, b = threading.Lock(), threading.Lock()
both = threading.Barrier(2)


def first():
    with a:
        both.wait()
        with b:
            pass


def second():
    with b:
        both.wait()
        with a:
            pass


ts = [threading.Thread(target=first), threading.Thread(target=second)]
for t in ts:
    t.start()
print("READY", flush=True)
for t in ts:
    t.join()
