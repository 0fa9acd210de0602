"""ProcessPoolExecutor returns the payload as a result: the pool reads as it goes."""

from concurrent.futures import ProcessPoolExecutor


def work(n):
    return b"x" * n


if __name__ == "__main__":
    with ProcessPoolExecutor(max_workers=1) as ex:
        data = ex.submit(work, 1 << 20).result()
