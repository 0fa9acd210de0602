"""The queue goes to the child by kwargs; the parent joins with timeout=."""

import multiprocessing


def work(size, out):
    out.put(b"x" * size)


def main():
    results = multiprocessing.Queue()
    worker = multiprocessing.Process(target=work, kwargs={"size": 1 << 20, "out": results})
    worker.start()
    worker.join(timeout=30)  # expect: JS101
    return results.get()


if __name__ == "__main__":
    main()
