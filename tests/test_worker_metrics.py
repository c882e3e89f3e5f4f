"""The workers' Prometheus endpoints, scraped while they run on the real broker and database."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from datetime import datetime, timezone

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import ROOT
from tests.helpers.streaming import produce, store_posts, stream_env, stream_worker, tweet, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.app.schema import migrate
from threadtag.core.broker import free_port
from threadtag.core.settings import Settings
from threadtag.pipeline.stream_worker import policy_of
from threadtag.schemas.events import AnnotationRequest
from threadtag.schemas.posts import Post

pytestmark = pytest.mark.slow


def scrape(port: int) -> dict[str, float]:
    """Sample name with labels -> value, from /metrics."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return {}
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


PROBES = ("/healthz", "/ready")


def _status(port: int, path: str) -> int:
    try:
        return int(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def documented_metrics() -> set[str]:
    return set(re.findall(r"^\| `(threadtag_\w+)`", (ROOT / "docs" / "operations.md").read_text(), flags=re.M))


def _request(database_url: str, root: str) -> bytes:
    """A request for a thread stored as the stream would have."""
    now = datetime(2026, 5, 1, tzinfo=timezone.utc)
    post = Post(id=root, created_at=now, text="Azarenka screams on every point #AusOpen", platform="twitter")
    reply = Post(id=root + "1", parent_id=root, created_at=now, text="the umpire does nothing", platform="twitter")
    migrate(database_url)
    engine = create_engine(database_url)
    # Its arrival request made at once (and sent by the test, not the stream worker's timer).
    store_posts(engine, [post, reply], policy=policy_of(Settings(annotate_quiet_seconds=0)))
    engine.dispose()
    return AnnotationRequest(root_id=root, seq=1, reason="final", cutoff=1).to_bytes()


def test_workers_serve_the_listed_metrics(broker, database_url, sample_model, tmp_path):
    env = stream_env(broker, tmp_path, database_url)
    env.update(
        {
            "MODEL_PATH": str(sample_model),
            "METRICS_HOST": "127.0.0.1",
            "METRICS_LAG_INTERVAL_SECONDS": "0.5",
            "INFER_BATCH_WAIT_MS": "100",
        }
    )
    infer_port, stream_port = free_port(), free_port()
    infer = CommandProcess(["infer"], {**env, "METRICS_PORT": str(infer_port)}, tmp_path / "infer.log").start()
    stream = stream_worker({**env, "METRICS_PORT": str(stream_port)}, tmp_path / "stream.log").start()
    engine = create_engine(database_url)

    def annotations() -> int:
        with engine.connect() as conn:
            try:
                return int(conn.execute(text("SELECT count(*) FROM annotations")).scalar())
            except Exception:  # noqa: BLE001 - before the worker's migration
                return 0

    try:
        produce(broker, env["REQUESTS_TOPIC"], [(0, b"r1", _request(database_url, "777")), (0, b"r2", b"{broken")])
        # A broken message, and a reply whose parent is not there (it waits, parked).
        produce(broker, env["TWEETS_TOPIC"], [(0, None, b"not a tweet"), (0, None, tweet(5, 4, 0))])
        wait_for(lambda: annotations() == 1, 120, "the annotation row", tmp_path / "infer.log")
        requests = env["REQUESTS_TOPIC"]
        lag = f'threadtag_consumer_lag{{group="{env["INFER_GROUP_ID"]}",partition="0",topic="{requests}"}}'
        wait_for(lambda: scrape(infer_port).get(lag) == 0, 30, "zero lag on the requests topic")
        wait_for(
            lambda: scrape(stream_port).get("threadtag_dead_letters_total") == 1,
            60,
            "the stream's dead letter",
            tmp_path / "stream.log",
        )
        parked = "threadtag_stream_parked_posts"
        wait_for(lambda: scrape(stream_port).get(parked) == 1, 60, "the parked reply in the gauge")
        served, streamed = scrape(infer_port), scrape(stream_port)
        probes = {(port, path): _status(port, path) for port in (infer_port, stream_port) for path in PROBES}
    finally:
        infer.stop()
        stream.stop()
        engine.dispose()
    assert set(probes.values()) == {200}, probes  # both workers alive and doing their work
    assert served[f'threadtag_messages_in_total{{topic="{requests}"}}'] == 2
    assert served["threadtag_dead_letters_total"] == 1
    assert served['threadtag_rows_written_total{table="annotations"}'] == 1
    assert served['threadtag_rows_written_total{table="dead_letters"}'] == 1
    assert served["threadtag_inference_seconds_count"] >= 1 and served["threadtag_batch_size_sum"] == 2
    assert any(name.startswith("threadtag_model_version_info{") for name in served)
    assert streamed[f'threadtag_messages_in_total{{topic="{env["TWEETS_TOPIC"]}"}}'] == 2
    assert streamed['threadtag_rows_written_total{table="posts"}'] == 1
    # Every metric docs/operations.md lists is served, and it lists every one served.
    families = {re.sub(r"(_total|_count|_sum|_bucket|_created)$", "", n.split("{")[0]) for n in {**served, **streamed}}
    assert documented_metrics() == {f for f in families if f.startswith("threadtag_")}


def test_each_worker_exports_its_own_metrics_and_the_shared_ones(broker, database_url, sample_model, tmp_path):
    env = stream_env(broker, tmp_path, database_url)
    env.update({"MODEL_PATH": str(sample_model), "METRICS_HOST": "127.0.0.1"})
    infer_port, stream_port = free_port(), free_port()
    infer = CommandProcess(["infer"], {**env, "METRICS_PORT": str(infer_port)}, tmp_path / "infer.log").start()
    stream = stream_worker({**env, "METRICS_PORT": str(stream_port)}, tmp_path / "stream.log").start()
    try:
        for port, log in ((infer_port, "infer.log"), (stream_port, "stream.log")):
            wait_for(lambda port=port: bool(_families(port)), 60, "the metrics endpoint", tmp_path / log)
        served, streamed = _families(infer_port), _families(stream_port)
    finally:
        infer.stop()
        stream.stop()
    shared = {
        "threadtag_messages_in",
        "threadtag_dead_letters",
        "threadtag_consumer_lag",
        "threadtag_rows_written",
        "threadtag_db_retries",
        "threadtag_build_info",
    }
    assert shared <= served and shared <= streamed
    assert {"threadtag_stream_parked_posts", "threadtag_requests_produced"} <= streamed - served
    assert {"threadtag_generator_inputs", "threadtag_post_to_annotation_seconds", "threadtag_model_version_info"} <= (
        served - streamed
    )
    assert served & streamed == shared


def _families(port: int) -> set[str]:
    """The project's metric families a worker serves, from their TYPE lines (a labelled family
    has no sample before its first label); none while the endpoint is not up."""
    try:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return set()
    names = re.findall(r"^# TYPE (threadtag_\w+) ", body, flags=re.M)
    return {re.sub(r"_total$", "", name) for name in names if not name.endswith("_created")}
