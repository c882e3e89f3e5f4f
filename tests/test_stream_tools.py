"""Replay tool, topic creation and stream CLI errors, against the real embedded broker."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid

import pytest
from typer.testing import CliRunner

from tests.helpers.paths import SAMPLE_THREADS
from tests.helpers.streaming import read_all
from threadtag.app.processes import CommandProcess
from threadtag.cli import app
from threadtag.core.broker import EmbeddedBroker, ensure_topics, free_port
from threadtag.pipeline.replay import ReplayStopped, read_lines, replay


def test_replay_sends_every_line_keyed_by_post_id(broker, tmp_path):
    topic = f"replay-{uuid.uuid4().hex[:6]}"
    ensure_topics(broker, [topic], 3, 1)
    source = tmp_path / "posts.jsonl"
    source.write_text(SAMPLE_THREADS.read_text() + "{broken line\n")
    sent = replay(source, broker, topic, speed=None, max_bytes=10_000, producer_batch_bytes=1, progress=False)
    assert sent == 97
    values = read_all(broker, topic)
    assert len(values) == 97 and b"{broken line" in values  # broken lines go through: the pipeline dead-letters them
    ids = {json.loads(v)["id_str"] for v in values if v != b"{broken line"}
    assert len(ids) == 96


@pytest.mark.integration  # a broker as a process
def test_replay_gives_up_on_a_broker_that_went_away_and_says_how_much_it_took(tmp_path):
    source = tmp_path / "posts.jsonl"
    source.write_text(SAMPLE_THREADS.read_text())
    with EmbeddedBroker() as gone:
        ensure_topics(gone.bootstrap, ["t"], 1, 1)
        # Paced: 96 posts over about 6 s of replay; the broker stops after 1.5 s.
        threading.Timer(1.5, gone.stop).start()
        with pytest.raises(ReplayStopped, match=r"\d+ of 96 records") as stopped:
            replay(source, gone.bootstrap, "t", 3600, 10_000, None, progress=False, deadline_s=3)
    assert not str(stopped.value).startswith("96 of")


def test_read_lines_keys_valid_posts_and_keeps_broken_ones(tmp_path):
    source = tmp_path / "posts.jsonl"
    source.write_text('{"id": 3, "reply_to": null, "created_at": 0, "text": "x"}\n\nnot json\n')
    lines = list(read_lines(source, 10_000))
    assert [(line.key, line.created_at is None) for line in lines] == [(b"3", False), (None, True)]


def test_replay_without_a_cluster_says_what_to_set(monkeypatch):
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    from threadtag.core.settings import get_settings

    get_settings.cache_clear()
    result = CliRunner().invoke(app, ["replay", str(SAMPLE_THREADS)])
    get_settings.cache_clear()
    assert result.exit_code != 0 and "KAFKA_BOOTSTRAP_SERVERS" in result.output


def test_stream_commands_have_help():
    for command in ("stream", "replay", "broker"):
        assert "Usage" in CliRunner().invoke(app, [command, "--help"]).output


@pytest.mark.integration  # the broker as a process
def test_the_broker_command_stops_tansu_on_sigterm_and_frees_its_port(tmp_path):
    port = free_port()
    process = CommandProcess(["broker", "--port", str(port)], dict(os.environ), tmp_path / "broker.log").start()
    try:
        deadline = time.monotonic() + 60
        while "embedded broker on" not in (tmp_path / "broker.log").read_text():
            assert time.monotonic() < deadline, (tmp_path / "broker.log").read_text()[-2000:]
            time.sleep(0.2)
    finally:
        process.stop()  # SIGTERM
    assert process.process is not None and process.process.returncode == 0
    with socket.socket() as probe:  # nothing listens there any more: Tansu went with its command
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    assert "embedded broker stopped" in (tmp_path / "broker.log").read_text()
