"""fdatasync latency of small appends in a directory (default: the system's
temporary directory, where the namespace test keeps the home agent's
journal): the physical floor under every durable registration reply.

    python3 bench/fdatasync.py [DIR] [COUNT]

Prints one JSON object: median, p90, p99 and max in milliseconds.
"""

import json
import os
import statistics
import sys
import tempfile
import time


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir()
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    path = os.path.join(directory, "telsec-fdatasync-%d" % os.getpid())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    record = b"x" * 120  # about one journal entry
    times = []
    try:
        for _ in range(count):
            os.write(fd, record)
            t = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - t) * 1e3)
    finally:
        os.close(fd)
        os.remove(path)
    times.sort()
    print(json.dumps({
        "count": count,
        "median_ms": round(statistics.median(times), 3),
        "p90_ms": round(times[int(count * 0.9)], 3),
        "p99_ms": round(times[int(count * 0.99)], 3),
        "max_ms": round(times[-1], 3),
    }))


if __name__ == "__main__":
    main()
