"""What serving like production costs per request: the request log's hooks (id, clock, JSON line)
with the log on and off, and /healthz through the whole Flask stack.

Run with `.venv/bin/python -m bench.serving` (SQLite in a temporary directory; DATABASE_URL is not
read). Prints figures; asserts nothing.
"""

import logging
import os
import statistics
import tempfile
import time

from flask import Response

from crm.core import requestlog

ROUNDS = 20_000


def _hooks_us(app, enabled: bool) -> float:
    """Microseconds the request log's two hooks add to one request, median of 5 runs."""
    app.config["REQUEST_LOG"] = enabled
    runs = []
    with app.test_request_context("/enterprises/?q=某某&page=2", headers={"X-Request-ID": "a" * 32}):
        response = Response("")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(ROUNDS):
                requestlog._start()
                requestlog._finish(response)
            runs.append((time.perf_counter() - start) / ROUNDS * 1e6)
    return statistics.median(runs)


def _healthz_ms(app, enabled: bool) -> tuple[float, float]:
    app.config["REQUEST_LOG"] = enabled
    client = app.test_client()
    samples = []
    for _ in range(500):
        start = time.perf_counter()
        client.get("/healthz")
        samples.append(time.perf_counter() - start)
    samples.sort()
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95)] * 1000


def main() -> None:
    from bench.__main__ import _app

    with tempfile.TemporaryDirectory() as tmp:
        app = _app(tmp)
        # The line is formatted and written as in production, to a file nobody reads.
        logger = logging.getLogger(requestlog.LOGGER_NAME)
        with open(os.devnull, "w") as sink:
            handler = logging.StreamHandler(sink)
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            try:
                off, on = _hooks_us(app, False), _hooks_us(app, True)
                print(f"请求日志钩子（请求编号、计时）：关闭 {off:.1f} µs/请求，", end="")
                print(f"开启（写一行 JSON）{on:.1f} µs/请求")
                for enabled in (False, True):
                    median, p95 = _healthz_ms(app, enabled)
                    state = "开启" if enabled else "关闭"
                    print(
                        f"GET /healthz（SQLite，请求日志{state}）：中位数 {median:.2f} ms，P95 {p95:.2f} ms"
                    )
            finally:
                logger.removeHandler(handler)


if __name__ == "__main__":
    main()
