"""/healthz answers while the process lives; /ready only while the worker does its work."""

from __future__ import annotations

import urllib.error
import urllib.request

from threadtag.core import metrics
from threadtag.core.broker import free_port


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode()


def test_health_ready_and_metrics_share_the_port():
    port = metrics.serve_health_and_metrics("127.0.0.1", free_port())
    metrics.set_ready(False)
    assert _get(port, "/healthz") == (200, "ok\n")
    assert _get(port, "/ready") == (503, "not ready\n")
    metrics.set_ready(True)
    assert _get(port, "/ready") == (200, "ready\n")
    status, body = _get(port, "/metrics")
    assert status == 200 and "threadtag_messages_in" in body
