"""The join sits in try/finally; the read comes after it."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


def main():
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))
    p.start()
    try:
        p.join()  # expect: JS101
    finally:
        print("joined", p.exitcode)
    return q.get()


if __name__ == "__main__":
    main()
