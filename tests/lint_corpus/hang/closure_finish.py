"""The join and the read happen in a nested function that closes over both."""

import multiprocessing


def work(q):
    q.put(b"x" * (1 << 20))


def main():
    q = multiprocessing.Queue()
    p = multiprocessing.Process(target=work, args=(q,))

    def finish():
        p.join()  # expect: JS101
        return q.get()

    p.start()
    return finish()


if __name__ == "__main__":
    main()
