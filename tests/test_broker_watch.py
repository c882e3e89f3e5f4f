"""The broker watch asks the broker itself (a Kafka ApiVersions round trip), so a partition
that takes connections and swallows their bytes counts as a lost broker, as a closed port does."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.helpers.tcp_proxy import TcpProxy
from threadtag.core.broker import free_port
from threadtag.core.broker_watch import answers, bootstrap_hosts
from threadtag.core.failures import EXIT_CONNECTION

pytestmark = pytest.mark.integration  # it starts processes


def test_a_broker_answers_a_black_hole_and_a_closed_port_do_not(broker):
    proxy = TcpProxy(int(broker.rsplit(":", 1)[1]))
    proxy.up()
    try:
        through = [("127.0.0.1", proxy.port)]
        assert answers(bootstrap_hosts(broker), timeout=2)
        assert answers(through, timeout=2)  # bytes pass: the broker's own answer comes back
        proxy.black_hole()
        assert not answers(through, timeout=1)
        assert answers(through, kafka_level=False, timeout=1)  # the port alone still takes connections
        proxy.heal()
        assert answers(through, timeout=2)
    finally:
        proxy.down()
    assert not answers([("127.0.0.1", free_port())], timeout=1)


@pytest.mark.slow  # a worker process and a wait for its exit
def test_a_worker_exits_with_its_line_when_the_broker_is_black_holed(broker):
    proxy = TcpProxy(int(broker.rsplit(":", 1)[1]))
    proxy.up()
    watch = (
        "import time; from threadtag.core.broker_watch import leave_when_broker_lost; "
        f"leave_when_broker_lost('127.0.0.1:{proxy.port}', 2, action='exit', every=0.2); time.sleep(60)"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", watch], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        time.sleep(3)
        assert worker.poll() is None  # the broker answers through the proxy: the worker stays
        proxy.black_hole()
        assert worker.wait(timeout=30) == EXIT_CONNECTION
        assert "the Kafka broker has not answered" in worker.stdout.read()  # type: ignore[union-attr]
    finally:
        worker.kill()
        proxy.down()
