"""The main job: the whole pipeline on one machine, fed a stream file, then shown in SQL."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import structlog
from sqlalchemy import Engine, text
from tqdm import tqdm

from threadtag.app import recipes
from threadtag.app.processes import CommandProcess, child_env
from threadtag.app.schema import migrate
from threadtag.core.broker import create_topics, kafka_endpoint
from threadtag.core.database import hide_password, resolve_database_url, sync_engine
from threadtag.core.kafka_security import kafka_python_options
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import example_key, lang_of, read_tweets, tag_text, thread_example
from threadtag.models.text import display_hashtag, join_words
from threadtag.pipeline.normalize import replies_per_root
from threadtag.pipeline.replay import replay
from threadtag.workers.model_registry import active_model, register_checkpoint

log = structlog.get_logger(__name__)

# The run's own rows: the newest annotation of each post by the run's model since the run
# began. (latest_annotations shows the active model's, which may be another one.)
RUN_ANNOTATIONS = """
SELECT DISTINCT ON (a.root_id) a.root_id, a.n_replies, a.hashtags
FROM annotations a
WHERE a.model_version = :version AND a.created_at >= :since
ORDER BY a.root_id, a.created_at DESC, a.request_seq DESC
"""
SHOW_POSTS = f"""
WITH l AS ({RUN_ANNOTATIONS})
SELECT p.id, p.text, p.lang, l.n_replies, l.hashtags
FROM l JOIN posts p ON p.id = l.root_id
WHERE p.id = ANY(:ids)
ORDER BY p.created_at
"""
TOP_HASHTAGS = f"""
WITH l AS ({RUN_ANNOTATIONS})
SELECT h->>'tag' AS tag, count(*) AS posts
FROM l, jsonb_array_elements(l.hashtags) WITH ORDINALITY AS t(h, rank)
WHERE t.rank = 1
GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10
"""


class MainJobFailed(RuntimeError):
    """The pipeline did not annotate the stream in time, or a worker of it exited."""


def choose_model(settings: Settings, engine: Engine, workdir: Path, progress: bool) -> Path:
    """MODEL_PATH; else the active model version's file; else the small sample model."""
    if settings.model_path is not None:
        return settings.model_path
    active = active_model(engine)
    if active and Path(active.path).is_file():
        return Path(active.path)
    path = workdir / "sample-model.pt"
    if not path.is_file():
        log.info("no model configured: training the small sample model", out=str(path))
        recipes.train_sample_model(settings, path, progress)
    return path


def _metrics_ports(first: int, count: int) -> list[int]:
    return [first + i if first else 0 for i in range(count)]


def annotated(engine: Engine, ids: list[str], version: str, since: datetime) -> dict[str, int]:
    """Root id -> most replies an annotation of it by model `version` written since `since` used."""
    query = text(
        "SELECT root_id, max(n_replies) FROM annotations"
        " WHERE root_id = ANY(:ids) AND model_version = :version AND created_at >= :since GROUP BY root_id"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"ids": ids, "version": version, "since": since}).all()
    return {root: n for root, n in rows}


def run_main_job(
    settings: Settings, stream_file: Path | None, workdir: Path, timeout: float, speed: float | None, progress: bool
) -> None:
    """Replay `stream_file` (default: the bundled sample) through the whole pipeline, then show it."""
    stream_file = stream_file or recipes.SAMPLE_THREADS
    # Without DATABASE_URL the run starts from an empty database of its own, so it can be
    # run again: replayed posts already stored would not be new, and nothing would be asked.
    url = resolve_database_url(settings, settings.run_database_name, fresh=True)
    migrate(url)  # before any worker starts
    engine = sync_engine(url)
    model = choose_model(settings, engine, workdir, progress)
    checkpoint = Checkpoint.load(model)
    version = checkpoint.version
    # Active only where no model is: the run never replaces a model other workers follow.
    register_checkpoint(engine, checkpoint, model, "if_none")
    with engine.connect() as conn:
        since = conn.execute(text("SELECT now()")).scalar_one()  # the database's clock stamps the rows
    want = replies_per_root(read_tweets(stream_file))
    with kafka_endpoint(settings.kafka_bootstrap_servers) as endpoint:
        update = {
            "kafka_bootstrap_servers": endpoint.bootstrap,
            "database_url": url,
            "model_path": model,
            "conversation_close_seconds": settings.run_close_seconds,
            "infer_follow_active": False,  # serve this run's model even when another one is active
        }
        child = settings.model_copy(update=update)
        create_topics(child, endpoint.bootstrap)
        env = child_env(child)
        logs = workdir / "logs"
        # One host, two endpoints: METRICS_PORT, +1 (0 stays off).
        workers = [
            CommandProcess([name], {**env, "METRICS_PORT": str(port)}, logs / f"{name}.log")
            for name, port in zip(("stream", "infer"), _metrics_ports(settings.metrics_port, 2))
        ]
        for worker in workers:
            worker.start()
        log.info("pipeline started", bootstrap=endpoint.bootstrap, model=str(model), version=version, logs=str(logs))
        try:
            started = time.monotonic()
            replay(
                stream_file,
                endpoint.bootstrap,
                child.tweets_topic,
                speed,
                child.max_message_bytes,
                child.kafka_producer_max_batch_bytes,
                progress,
                kafka_python_options(child),
            )
            deadline = time.monotonic() + timeout
            with tqdm(total=len(want), desc="annotated threads", unit="thread", disable=not progress) as bar:
                while True:
                    have = annotated(engine, list(want), version, since)
                    done = sum(1 for root, n in want.items() if have.get(root, -1) >= n)
                    bar.update(done - bar.n)
                    if done == len(want):
                        break
                    if time.monotonic() > deadline:
                        missing = f"{len(want) - done} of {len(want)} threads"
                        raise MainJobFailed(f"{missing} not annotated in {timeout:.0f} s")
                    if any(w.process and w.process.poll() is not None for w in workers):
                        raise MainJobFailed("a worker exited early")
                    time.sleep(1)
            seconds = time.monotonic() - started
            posts = len(want) + sum(want.values())
            print(
                f"\n{len(want)} threads, {posts} posts: all annotated by {version} {seconds:.1f} s after the "
                f"replay began ({posts / seconds:.0f} posts/s)"
            )
        finally:
            for worker in workers:
                worker.stop()
    show(engine, list(want), checkpoint, since)
    print(f"\n(the rows are in {hide_password(url)}; the README's queries run there)")
    engine.dispose()


def show(engine: Engine, ids: list[str], checkpoint: Checkpoint, since: datetime) -> None:
    """The run's annotations: each post as the model read it (its author's edge hashtags taken
    out and shown apart), marked where the model trained on it."""
    params = {"ids": ids, "version": checkpoint.version, "since": since}
    with engine.connect() as conn:
        rows = conn.execute(text(SHOW_POSTS), params).all()
        top = conn.execute(text(TOP_HASHTAGS), params).all()
    trained_on = set(checkpoint.training.get("trained_on", []))
    print(f"\n-- annotated posts (SQL: this run's annotations JOIN posts), {len(rows)} threads\n")
    seen = 0
    for post_id, post_text, lang, n_replies, hashtags in rows:
        example = thread_example(post_text, [], lang_of(lang, post_text))
        trained = example_key(example) in trained_on
        seen += trained
        mark = "  [the model trained on this thread]" if trained else ""
        read = join_words(example.post) if example.lang == "zh" else " ".join(example.post)
        author = "  ".join(display_hashtag(tag_text(t), example.lang) for t in example.tags) or "none"
        tags = "  ".join(display_hashtag(h["tag"], example.lang) for h in hashtags)
        print(f"{post_id}  [{n_replies} replies]{mark}  {read}\n    author's hashtags: {author}\n    -> {tags}")
    if seen:
        print(
            f"\n({seen} of {len(rows)} threads were the model's own training data: their hashtags say "
            "nothing of how it does on new posts)"
        )
    print("\n-- top-1 hashtags across posts\n")
    for tag, count in top:
        print(f"{count:4d}  {display_hashtag(tag)}")
