"""The inference worker under faults: SIGKILL mid-stream, PostgreSQL refusing connections."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.inference import inference_env, sample_requests, stored_sample
from tests.helpers.streaming import produce, wait_for
from tests.helpers.tcp_proxy import TcpProxy
from threadtag.app.processes import CommandProcess
from threadtag.app.schema import migrate
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import assemble_threads
from threadtag.schemas.events import AnnotationRequest
from threadtag.workers.model_registry import register_checkpoint

pytestmark = pytest.mark.slow

INSERT_GATE_KEY = 7_400_001  # any key no project code locks


def _rows(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        try:
            return tuple(
                conn.execute(text("SELECT count(*), count(DISTINCT (root_id, request_seq)) FROM annotations")).one()
            )
        except Exception:  # noqa: BLE001 - before the worker migrated
            return (0, 0)


@contextmanager
def inserts_held_after(engine, rows: int) -> Iterator[None]:
    """Once `rows` annotations are committed, every further insert waits on an advisory lock the test holds.

    The worker is then stuck mid-batch at a known point whatever the machine's speed, so the kill
    below always lands mid-stream (a 1 s poll raced a fast worker to the end of the topic).
    """
    gate = engine.connect()
    gate.execute(text("SELECT pg_advisory_lock(:key)"), {"key": INSERT_GATE_KEY})
    gate.commit()
    with engine.begin() as conn:
        conn.execute(
            text(f"""
            CREATE FUNCTION hold_inserts() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF (SELECT count(*) FROM annotations) >= {rows} THEN
                    PERFORM pg_advisory_xact_lock_shared({INSERT_GATE_KEY});
                END IF;
                RETURN NEW;
            END $$;
            CREATE TRIGGER hold_inserts BEFORE INSERT ON annotations FOR EACH ROW EXECUTE FUNCTION hold_inserts();
        """)
        )
    try:
        yield
    finally:
        # Release first: a held insert keeps its table lock until it gets the advisory lock, and
        # DROP TRIGGER would wait on it. A killed worker's insert then ends uncommitted.
        gate.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": INSERT_GATE_KEY})
        gate.close()
        with engine.begin() as conn:
            conn.execute(text("DROP TRIGGER hold_inserts ON annotations; DROP FUNCTION hold_inserts();"))


def _held_inserts(engine) -> int:
    with engine.connect() as conn:
        query = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = :key AND NOT granted"
        return int(conn.execute(text(query), {"key": INSERT_GATE_KEY}).scalar_one())


def test_killed_worker_annotates_every_request_exactly_once(broker, database_url, sample_model, tmp_path):
    env = inference_env(broker, database_url, sample_model, tmp_path)
    batch = sample_requests(database_url, copies=8)  # 192 requests, 24 batches of 8
    produce(broker, env["REQUESTS_TOPIC"], batch)
    migrate(database_url)
    engine = create_engine(database_url)
    log = tmp_path / "infer.log"
    with inserts_held_after(engine, rows=16):
        worker = CommandProcess(["infer"], env, log).start()
        wait_for(lambda: _held_inserts(engine) > 0, 120, "the first batches and a held insert", log)
        worker.kill()  # mid-batch: rows are in, their offsets may not be committed, the next write hangs
    assert 0 < _rows(engine)[0] <= 16
    worker = CommandProcess(["infer"], env, log).start()
    try:
        wait_for(lambda: _rows(engine)[0] >= len(batch), 180, "every request annotated", log)
    finally:
        worker.stop()
    assert _rows(engine) == (len(batch), len(batch))
    engine.dispose()


def test_database_outage_loses_and_doubles_nothing(broker, database_url, sample_model, tmp_path):
    proxy, through_proxy = TcpProxy.in_front_of(database_url)
    # An outage three times the poll interval: the worker must poll on (paused) to stay in its group.
    env = inference_env(broker, through_proxy, sample_model, tmp_path, kafka_max_poll_interval_s=4)
    batch = sample_requests(database_url, copies=6)  # 144 requests
    engine = create_engine(database_url)  # the test itself reads past the proxy
    log = tmp_path / "infer.log"
    worker = CommandProcess(["infer"], env, log).start()
    try:
        produce(broker, env["REQUESTS_TOPIC"], batch[: len(batch) // 2])
        wait_for(lambda: _rows(engine)[0] > 0, 120, "rows before the outage", log)
        proxy.down()
        produce(broker, env["REQUESTS_TOPIC"], batch[len(batch) // 2 :])
        wait_for(lambda: "database unavailable" in log.read_text(), 60, "the worker noticing the outage", log)
        time.sleep(12)
        assert worker.process is not None and worker.process.poll() is None, log.read_text()[-2000:]
        proxy.up()
        wait_for(lambda: _rows(engine)[0] >= len(batch), 180, "every request after the outage", log)
    finally:
        worker.stop()
        proxy.down()
    assert _rows(engine) == (len(batch), len(batch))
    assert "partitions reassigned" not in log.read_text()  # it kept its group through the outage
    engine.dispose()


def test_a_final_request_for_an_unchanged_thread_decodes_nothing_and_marks_the_row_final(
    broker, database_url, sample_model, tmp_path
):
    engine, posts = stored_sample(database_url)
    batch = []
    for i, (root, replies) in enumerate(assemble_threads(posts)):
        cutoff = len(replies)
        for seq, reason in ((1, "arrival"), (2, "final")):  # the thread did not change in between
            request = AnnotationRequest(root_id=root.id, seq=seq, reason=reason, cutoff=cutoff)
            batch.append((i % 3, root.id.encode(), request.to_bytes()))
    threads = len(batch) // 2
    # Beam search for every post (HYBRID_DECODE=always): what is counted is the memo's saving.
    env = inference_env(
        broker, database_url, sample_model, tmp_path, log_format="json", log_level="INFO", hybrid_decode="always"
    )
    produce(broker, env["REQUESTS_TOPIC"], batch)
    log = tmp_path / "infer.log"
    finals = text("SELECT count(*) FILTER (WHERE final), count(*) FROM annotations")
    with CommandProcess(["infer"], env, log):

        def done() -> bool:
            with engine.connect() as conn:
                try:
                    return conn.execute(finals).one()[0] >= threads
                except Exception:  # noqa: BLE001 - before the worker migrated
                    return False

        wait_for(done, 180, "every thread's final annotation", log)
    with engine.connect() as conn:
        assert tuple(conn.execute(finals).one()) == (threads, threads)  # one row each, marked final
    engine.dispose()
    batches = [json.loads(line) for line in log.read_text().splitlines() if '"batch annotated"' in line]
    assert sum(b["requests"] for b in batches) == 2 * threads
    assert sum(b["decoded"] for b in batches) == threads  # the final requests ran no beam search
    [stopped] = [json.loads(line) for line in log.read_text().splitlines() if '"inference worker stopped"' in line]
    assert stopped["requests"] == 2 * threads and stopped["rows"] == threads  # the SIGTERM's line, with totals


def test_an_active_model_whose_file_is_gone_leaves_the_worker_on_the_last_version_that_loads(
    broker, database_url, sample_model, tmp_path
):
    engine, posts = stored_sample(database_url)
    served = Checkpoint.load(sample_model)
    register_checkpoint(engine, served, sample_model, "always")
    with engine.begin() as conn:  # a newer version made active, whose file was then deleted
        conn.execute(text("UPDATE model_versions SET active = false"))
        conn.execute(
            text("INSERT INTO model_versions (version, path, active, activated_at) VALUES ('gone', :p, true, now())"),
            {"p": str(tmp_path / "deleted.pt")},
        )
    env = inference_env(broker, database_url, sample_model, tmp_path, log_format="json")
    del env["MODEL_PATH"]
    threads = assemble_threads(posts)
    produce(
        broker,
        env["REQUESTS_TOPIC"],
        [
            (0, root.id.encode(), AnnotationRequest(root_id=root.id, seq=1, reason="arrival", cutoff=0).to_bytes())
            for root, _ in threads
        ],
    )
    log = tmp_path / "infer.log"
    shown = text("SELECT count(*) FROM latest_annotations WHERE model_version = :v")
    with CommandProcess(["infer"], env, log):

        def done() -> bool:
            with engine.connect() as conn:
                return (conn.execute(shown, {"v": served.version}).scalar() or 0) >= len(threads)

        wait_for(done, 180, "the roots annotated by the version that loads, shown by latest_annotations", log)
    engine.dispose()
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    [loud] = [line for line in lines if line["event"].startswith("the active model version cannot be loaded")]
    assert loud["level"] == "error" and loud["active"] == "gone" and loud["serving"] == served.version
