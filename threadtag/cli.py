"""The `threadtag` command line."""

from __future__ import annotations

import gc
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Optional

import structlog
import typer

from threadtag.core.failures import EXIT_CONFIG
from threadtag.core.logging_setup import configure_logging, stdlib_handler
from threadtag.core.settings import Settings, get_settings

app = typer.Typer(
    help="Hashtags for microblog threads, generated from the post and its conversation.", no_args_is_help=True
)
log = structlog.get_logger("threadtag")

WeiboOpt = Annotated[
    Optional[Path],
    typer.Option(
        help="Directory with Weibo-style post.txt, conv.txt, tag.txt (dev = the last lines), or the authors' "
        "layout train_/valid_{post,conv,tag}.txt (dev = valid_*)."
    ),
]
TestOpt = Annotated[
    Optional[Path],
    typer.Option(
        help="Score on this separate test set instead of the dev split: a Weibo-style directory "
        "(test_* files of the authors' layout, else post.txt...) or a tweets JSONL(.gz)."
    ),
]
TweetsOpt = Annotated[Optional[Path], typer.Option(help="JSONL(.gz) of Twitter v1.1 tweets; threads are assembled.")]
DevLastOpt = Annotated[
    Optional[int],
    typer.Option(
        help="Dev split = the last N lines (Weibo) or threads (tweets). Default: WEIBO_DEV_LINES / 10% of threads."
    ),
]


def _print_version(value: bool) -> None:
    if value:
        from threadtag import __version__

        typer.echo(f"threadtag {__version__}")
        raise typer.Exit()


def _settings_or_exit() -> Settings:
    """The settings, or one line per wrong environment variable and exit code 2 (no traceback)."""
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:
        for error in exc.errors():
            variable = str(error["loc"][0]).upper() if error["loc"] else "settings"
            typer.echo(f"error: {variable}={error.get('input')!r}: {error['msg']} (fix or unset {variable})", err=True)
        raise typer.Exit(EXIT_CONFIG) from None


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and exit.", callback=_print_version, is_eager=True)
    ] = False,
) -> None:
    settings = _settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)


def _load(weibo: Path | None, tweets: Path | None):  # type: ignore[no-untyped-def]
    """(examples, dev) of exactly one source: dev is the authors' valid_* set where the
    layout fixes one (examples then the train_* set), else None."""
    from threadtag.models.corpus import load_tweet_threads, load_weibo, weibo_layout

    if (weibo is None) == (tweets is None):
        raise typer.BadParameter("give exactly one of --weibo DIR or --tweets FILE")
    if tweets is not None:
        return load_tweet_threads(tweets), None
    assert weibo is not None
    try:
        layout = weibo_layout(weibo)
    except FileNotFoundError as exc:
        raise typer.BadParameter(str(exc)) from None
    if layout == "authors":
        return load_weibo(weibo, split="train"), load_weibo(weibo, split="valid")
    return load_weibo(weibo), None


def _split(weibo: Path | None, tweets: Path | None, dev_last: int | None, settings: Settings):  # type: ignore[no-untyped-def]
    """(train, dev) examples from exactly one source."""
    examples, dev = _load(weibo, tweets)
    if dev is not None:
        if dev_last is not None:
            raise typer.BadParameter("--dev-last does not apply to the authors' layout: valid_* is the dev set")
        return examples, dev
    if dev_last is not None:
        n_dev = dev_last
    else:
        n_dev = settings.weibo_dev_lines if weibo is not None else max(1, math.ceil(0.1 * len(examples)))
    if n_dev >= len(examples):
        raise typer.BadParameter(f"dev split of {n_dev} leaves no training data ({len(examples)} examples)")
    return examples[:-n_dev], examples[-n_dev:]


def _test_set(path: Path):  # type: ignore[no-untyped-def]
    from threadtag.models.corpus import load_tweet_threads, load_weibo_test

    if not path.exists():
        raise typer.BadParameter(f"no test set at {path}")
    try:
        examples = load_weibo_test(path) if path.is_dir() else load_tweet_threads(path)
    except (FileNotFoundError, ValueError) as exc:
        raise typer.BadParameter(f"test set {path}: {exc}") from None
    if not examples:
        raise typer.BadParameter(f"test set {path} has no post with a hashtag")
    return examples


@app.command()
def train(
    out: Annotated[Path, typer.Option(help="Where to write the checkpoint (.pt).")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    variant: Annotated[Optional[str], typer.Option(help="Model variant; default MODEL_VARIANT.")] = None,
    max_epochs: Annotated[Optional[int], typer.Option(help="Default TRAIN_MAX_EPOCHS.")] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Train the small sample model on the bundled threads instead.")
    ] = False,
    keep_existing: Annotated[
        bool, typer.Option("--keep-existing", help="Do nothing when --out exists (a deployment's first model).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a hashtag generator; the epoch TRAIN_SCHEDULE keeps is saved."""
    from threadtag import recipes

    settings = get_settings()
    if keep_existing and out.exists():
        typer.echo(f"kept {out}")
        return
    if sample:
        checkpoint = recipes.train_sample_model(settings, out, progress)
        typer.echo(f"saved {out} version={checkpoint.version} (sample model)")
        return
    train_examples, dev_examples = _split(weibo, tweets, dev_last, settings)
    started = time.perf_counter()
    checkpoint = recipes.fit(settings, train_examples, dev_examples, variant, max_epochs, progress=progress)
    checkpoint.save(out)
    epochs = checkpoint.training["epochs"]
    typer.echo(
        f"saved {out} version={checkpoint.version} epochs={len(epochs)} "
        f"kept_epoch={checkpoint.training['kept_epoch']} dev_loss={checkpoint.training['kept_dev_loss']:.4f} "
        f"seconds_per_epoch={sum(e['seconds'] for e in epochs) / len(epochs):.1f} "
        f"total_seconds={time.perf_counter() - started:.0f}"
    )


def _load_checkpoint(path: Path, settings: Settings):  # type: ignore[no-untyped-def]
    from threadtag import recipes
    from threadtag.models.checkpoint import Checkpoint

    return Checkpoint.load(path, recipes.device(settings))  # CheckpointError: one line from run()


def _predictor(model: Path, settings: Settings, top_k: int | None = None):  # type: ignore[no-untyped-def]
    from threadtag import recipes

    checkpoint = _load_checkpoint(model, settings)
    try:
        return recipes.predictor(checkpoint, settings, top_k)
    except ValueError as exc:  # top-k outside 1..BEAM_SIZE
        raise typer.BadParameter(str(exc)) from None


@app.command()
def evaluate(
    model: Annotated[list[Path], typer.Option(help="Checkpoint(s) to score; repeat for a comparison table.")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    test: TestOpt = None,
    predictions: Annotated[
        Optional[Path], typer.Option(help="Directory for <checkpoint-name>.predictions.jsonl.")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Score checkpoints on the dev split (or --test) with F1@1, F1@5, MAP@5, ROUGE-1 and ROUGE-SU4."""
    from threadtag.models.evaluation import evaluate as run_evaluation
    from threadtag.models.evaluation import format_table, write_predictions

    settings = get_settings()
    if test is not None:
        if weibo is not None or tweets is not None:
            raise typer.BadParameter("--test replaces the dev split: leave out --weibo/--tweets")
        dev_examples = _test_set(test)
    else:
        _, dev_examples = _split(weibo, tweets, dev_last, settings)
    rows = []
    for path in model:
        predictor = _predictor(path, settings)
        started = time.perf_counter()
        result = run_evaluation(predictor, dev_examples, progress)
        variant = predictor.checkpoint.model.config.variant
        log.info("evaluated", model=str(path), variant=variant, seconds=round(time.perf_counter() - started, 1))
        rows.append((f"{variant} ({path.name})", result.scores))
        if predictions is not None:
            write_predictions(predictions / f"{path.stem}.predictions.jsonl", dev_examples, result.predictions)
    typer.echo(format_table(rows))


@app.command()
def crossval(
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    variant: Annotated[
        Optional[list[str]], typer.Option(help="Variant(s) to train; default full and seq2seq_post.")
    ] = None,
    seeds: Annotated[
        Optional[list[int]], typer.Option("--seed", help="Seed(s) on the dev split; default TRAIN_SEED.")
    ] = None,
    folds: Annotated[
        int, typer.Option(help="K-fold cross-validation over all examples instead (seed: the first --seed).")
    ] = 0,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train and score each variant once per seed (dev split) or per fold, and print the runs,
    their means with the spread of F1@1, and full minus post-only: comparisons one run cannot decide."""
    from tqdm import tqdm

    from threadtag.validation import plan, report, train_and_score

    settings = get_settings()
    if folds == 1 or folds < 0:
        raise typer.BadParameter("--folds must be 0 (dev split) or at least 2")
    if folds:
        loaded, fixed_dev = _load(weibo, tweets)
        examples = [*loaded, *(fixed_dev or [])]
    else:
        train_examples, dev_examples = _split(weibo, tweets, dev_last, settings)
        examples = [*train_examples, *dev_examples]
        settings = settings.model_copy(update={"weibo_dev_lines": len(dev_examples)})  # the split _split made
    splits = plan(seeds or [settings.train_seed], folds)
    runs = [(v, split) for v in (variant or ["full", "seq2seq_post"]) for split in splits]
    results = []
    for v, split in tqdm(runs, desc="train and score", unit="run", disable=not progress):
        results.append(train_and_score(settings, examples, split, v))
    typer.echo(report(results))


@app.command()
def compare(
    out: Annotated[Path, typer.Option(help="Directory for compare.md and the plot.")],
    weibo: WeiboOpt = None,
    tweets: TweetsOpt = None,
    dev_last: DevLastOpt = None,
    models_dir: Annotated[
        Optional[Path],
        typer.Option(help="Keep the generators' checkpoints here (<variant>.pt) and reuse them on the next run."),
    ] = None,
    test: TestOpt = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train and score the paper's systems on one split: RANDOM, TF-IDF, LDA, CNN classifiers,
    SEQ2SEQ and the full model (Table 4), the six variants (Table 6), unseen hashtags
    (Table 5) and F1@1 by hashtag frequency (Figure 3), into a Markdown report."""
    import shlex
    import sys

    from threadtag.compare import run_compare

    settings = get_settings()
    train_examples, dev_examples = _split(weibo, tweets, dev_last, settings)
    command = "threadtag " + shlex.join(sys.argv[1:])
    test_examples = _test_set(test) if test is not None else None
    report = run_compare(settings, train_examples, dev_examples, out, models_dir, command, progress, test_examples)
    typer.echo(report.read_text(encoding="utf-8"))
    typer.echo(f"written: {report}")


def _input_warnings(post: str, replies: list[str], model_lang: str, lang: str | None) -> list[str]:
    """What makes a prediction for this input doubtful, in words (the output still comes)."""
    from threadtag.models.corpus import thread_example
    from threadtag.models.text import detect_lang

    problems = []
    seen_lang = lang or detect_lang(post)
    if seen_lang != model_lang:
        problems.append(f"the model was trained on {model_lang} posts; this post is {seen_lang}: expect poor hashtags")
    if not thread_example(post, replies, lang or model_lang).post:
        problems.append("the post has no words once its edge hashtags are removed: the hashtags rest on the replies")
    return problems


@app.command()
def predict(
    model: Annotated[Path, typer.Option(help="Checkpoint to use.")],
    post: Annotated[str, typer.Option(help="The post's text.")],
    reply: Annotated[Optional[list[str]], typer.Option(help="A reply's text, in time order; repeat for more.")] = None,
    lang: Annotated[Optional[str], typer.Option(help="en or zh; default: the checkpoint's language.")] = None,
    top_k: Annotated[Optional[int], typer.Option(help="How many hashtags; default TOP_K.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a list.")] = False,
) -> None:
    """Ranked hashtags for one post and its replies."""
    if lang not in (None, "en", "zh"):
        raise typer.BadParameter(f"--lang must be en or zh, not {lang!r}")
    settings = get_settings()
    predictor = _predictor(model, settings, top_k)
    for problem in _input_warnings(post, reply or [], predictor.checkpoint.lang, lang):
        log.warning(problem)
    started = time.perf_counter()
    ranked = predictor.predict_thread(post, reply or [], lang)
    elapsed = time.perf_counter() - started
    if as_json:
        payload = {
            "hashtags": [{"tag": h.tag, "score": h.score} for h in ranked],
            "model_version": predictor.checkpoint.version,
        }
        typer.echo(json.dumps(payload, ensure_ascii=False))
        return
    from threadtag.models.text import display_hashtag

    for rank, h in enumerate(ranked, start=1):
        typer.echo(f"{rank}. {display_hashtag(h.tag)}  ({h.tag})  log-prob {h.score:.3f}")
    log.info("predicted", seconds=round(elapsed, 3), model_version=predictor.checkpoint.version)


@app.command()
def explain(
    model: Annotated[Path, typer.Option(help="Checkpoint of a bi-attention variant (full, post_att, conv_att).")],
    post: Annotated[str, typer.Option(help="The post's text.")],
    out: Annotated[Path, typer.Option(help="Where to write the heatmap (.png).")],
    reply: Annotated[Optional[list[str]], typer.Option(help="A reply's text, in time order; repeat for more.")] = None,
    lang: Annotated[Optional[str], typer.Option(help="en or zh; default: the checkpoint's language.")] = None,
) -> None:
    """Draw the bi-attention between a post and its replies as a heatmap (paper, Figure 4) and
    list the top hashtags with their scores."""
    from threadtag.models.corpus import thread_example
    from threadtag.models.explain import draw_heatmap
    from threadtag.models.explain import explain as run_explain

    settings = get_settings()
    predictor = _predictor(model, settings)
    example = thread_example(post, reply or [], lang or predictor.checkpoint.lang)
    try:
        explanation = run_explain(predictor, example)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    draw_heatmap(explanation, out, settings.explain_font)
    for rank, h in enumerate(explanation.hashtags, start=1):
        typer.echo(f"{rank}. {h.tag}  (log-prob {h.score:.3f})")
    typer.echo(f"heatmap: {out}")


@app.command()
def run(
    stream_file: Annotated[
        Optional[Path], typer.Option("--replay", help="Raw posts to feed; default the bundled sample.")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Sample model and worker logs go here.")] = Path("runs"),
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 600.0,
    speed: Annotated[
        Optional[float], typer.Option(help="Replay pace (time factor); default as fast as possible.")
    ] = None,
) -> None:
    """The main job: broker, database, model, stream + inference + DB workers; replays a stream
    and prints the annotated posts queried in SQL. Embedded broker and database when none is set."""
    from threadtag.main_job import run_main_job
    from threadtag.recipes import SAMPLE_THREADS

    settings = get_settings()
    run_main_job(settings, stream_file or SAMPLE_THREADS, workdir, timeout, speed)


@app.command()
def demo(
    model: Annotated[
        Optional[Path], typer.Option(help="Checkpoint; default MODEL_PATH, else train the sample model.")
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where the sample model is written.")] = Path("runs"),
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Annotate the bundled sample threads (trains the small sample model first if no checkpoint is given)."""
    from threadtag import recipes
    from threadtag.models.corpus import assemble_threads, post_lang, read_tweets
    from threadtag.models.text import display_hashtag

    settings = get_settings()
    path = model or settings.model_path
    if path is None:
        path = workdir / "sample-model.pt"
        typer.echo(f"no checkpoint given: training the small sample model -> {path}")
        checkpoint = recipes.train_sample_model(settings, path, progress)
    else:
        checkpoint = _load_checkpoint(path, settings)
    predictor = recipes.predictor(checkpoint, settings)
    threads = assemble_threads(p for p in read_tweets(recipes.SAMPLE_THREADS) if not p.is_retweet)
    for root, replies in threads:
        ranked = predictor.predict_thread(root.text, [r.text for r in replies], post_lang(root))
        typer.echo(f"\n{root.id}  ({len(replies)} replies)  {root.text}")
        typer.echo("   -> " + "; ".join(f"{display_hashtag(h.tag)} ({h.score:.2f})" for h in ranked))


@app.command()
def broker(
    port: Annotated[int, typer.Option(help="Port to listen on (127.0.0.1).")] = 9092,
) -> None:
    """Run the embedded Tansu broker in the foreground (for running several workers by hand)."""
    from threadtag.core.broker import EmbeddedBroker, create_topics

    settings = get_settings()
    with EmbeddedBroker(port) as running:
        create_topics(settings, running.bootstrap)
        typer.echo(f"embedded broker on {running.bootstrap}; export KAFKA_BOOTSTRAP_SERVERS={running.bootstrap}")
        typer.echo("stop with Ctrl-C")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


@app.command()
def topics() -> None:
    """Create the pipeline's topics with KAFKA_PARTITIONS partitions (those missing), and check
    the co-partitioned ones; a deployment runs it once before the stream workers."""
    from threadtag.core.broker import create_topics, stream_topics

    _quiet_kafka_client()
    settings = get_settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS")
    create_topics(settings, settings.kafka_bootstrap_servers)
    typer.echo(f"topics ready: {', '.join(stream_topics(settings))}")


def _collect_less() -> None:
    """Each batch of parsed posts lives a moment as tens of thousands of objects; with Python's
    default thresholds they set off full collections over every object the process holds
    (2.0 s of GC in a 14 s backlog run, 0.4 s after this; BENCHMARKS.md). What start-up made
    is frozen out of collections, and young ones run every 20,000 allocations, not 700."""
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


@app.command()
def stream() -> None:
    """Run a stream worker: raw posts -> PostgreSQL (posts, conversations) -> annotation requests.

    Start several with the same KAFKA_BOOTSTRAP_SERVERS and database to share the partitions."""
    import faust

    from threadtag.core.broker import create_topics, kafka_endpoint
    from threadtag.core.metrics import start_metrics
    from threadtag.pipeline.topology import build_app

    settings = get_settings()
    engine = _migrated_engine(settings)
    with kafka_endpoint(settings.kafka_bootstrap_servers) as endpoint:
        create_topics(settings, endpoint.bootstrap)
        stream_app = build_app(settings, endpoint.bootstrap, engine)
        started = settings.model_copy(update={"kafka_bootstrap_servers": endpoint.bootstrap})
        start_metrics(started, settings.stream_app_id, [settings.tweets_topic])
        log.info("stream worker starting", bootstrap=endpoint.bootstrap, app_id=settings.stream_app_id)
        # faust sets up logging of its own (colored text on stdout): hand it ours instead.
        stream_app.conf.loghandlers = [stdlib_handler(settings.log_format)]
        root = {"level": settings.log_level}
        stream_app.conf.logging_config = {"version": 1, "disable_existing_loggers": False, "root": root}
        _collect_less()
        try:
            # redirect_stdouts=False: faust would wrap sys.stderr, where structlog writes, and lose our lines.
            faust.Worker(
                stream_app, loglevel=settings.log_level, quiet=True, redirect_stdouts=False
            ).execute_from_commandline()
        finally:
            engine.dispose()


@app.command()
def replay(
    file: Annotated[Path, typer.Argument(help="JSONL or JSONL.gz of raw posts, in stream order.")],
    speed: Annotated[float, typer.Option(help="Time factor: 60 replays a minute of posts per second.")] = 60.0,
    fast: Annotated[bool, typer.Option("--fast", help="As fast as possible, ignoring timestamps.")] = False,
    topic: Annotated[Optional[str], typer.Option(help="Default TWEETS_TOPIC.")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Produce a file of raw posts to the tweets topic (needs KAFKA_BOOTSTRAP_SERVERS)."""
    from threadtag.core.kafka_security import kafka_python_options
    from threadtag.pipeline.replay import replay as run_replay

    _quiet_kafka_client()
    settings = get_settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS (e.g. from `threadtag broker`)")
    if not file.exists():
        raise typer.BadParameter(f"no file {file}")
    sent = run_replay(
        file,
        settings.kafka_bootstrap_servers,
        topic or settings.tweets_topic,
        None if fast else speed,
        settings.max_message_bytes,
        settings.kafka_producer_max_batch_bytes,
        progress,
        kafka_python_options(settings),
    )
    typer.echo(f"replayed {sent} posts to {topic or settings.tweets_topic}")


@app.command()
def infer(
    model: Annotated[
        Optional[Path], typer.Option(help="Checkpoint to start with; default MODEL_PATH, else the active version.")
    ] = None,
) -> None:
    """Run an inference worker: annotation requests -> ranked hashtags in PostgreSQL.

    The model it starts with is registered (and made active if none is); with
    INFER_FOLLOW_ACTIVE it then serves whichever version is active. Start several (same
    INFER_GROUP_ID) to share the requests' partitions."""
    from threadtag import recipes
    from threadtag.core import kafka_clients
    from threadtag.core.metrics import start_metrics
    from threadtag.workers import inference
    from threadtag.workers.annotation_sink import AnnotationSink
    from threadtag.workers.model_registry import active_model, register_checkpoint

    settings = get_settings()
    if not settings.kafka_bootstrap_servers:
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS: the worker reads the stream's requests topic")
    engine = _migrated_engine(settings)
    path = model or settings.model_path
    if path is None:
        active = active_model(engine)
        if active is None:
            raise typer.BadParameter("no active model version in the database: give --model or set MODEL_PATH")
        path = Path(active.path)

    served = inference.ServedModel(
        engine,
        recipes.predictor(_load_checkpoint(path, settings), settings),
        lambda active_path: recipes.predictor(active_path, settings),
        settings.infer_reload_check_seconds,
        settings.infer_follow_active,
    )
    register_checkpoint(engine, served.predictor.checkpoint, path, "if_none")
    sink = AnnotationSink(engine, served.version)
    consumer = kafka_clients.consumer(settings, [settings.requests_topic], settings.infer_group_id)
    start_metrics(settings, settings.infer_group_id, [settings.requests_topic])
    stop = _stop_on_signals(settings.shutdown_timeout_seconds)
    log.info("inference worker starting", model_version=served.version, device=str(recipes.device(settings)))
    try:
        inference.run(
            consumer,
            settings.requests_topic,
            served,
            sink,
            settings.infer_batch_size,
            settings.infer_batch_wait_ms,
            settings.db_max_backoff_seconds,
            stop,
        )
    finally:
        consumer.close()
        engine.dispose()


def _migrated_engine(settings: Settings):  # type: ignore[no-untyped-def]
    """An engine on the resolved database, migrated to head first (workers start after migrations)."""
    import threading

    from sqlalchemy import create_engine

    from threadtag.core.database import migrate as run_migrate
    from threadtag.core.database import resolve_database_url
    from threadtag.core.retries import with_db_retry

    url = resolve_database_url(settings)
    # A worker started before its database waits for it (a log line a retry), as it does
    # when the database goes away later.
    with_db_retry(lambda: run_migrate(url), settings.db_max_backoff_seconds, threading.Event())
    return create_engine(url, pool_pre_ping=True)


def _stop_on_signals(timeout: float):  # type: ignore[no-untyped-def]
    """An event set by SIGTERM/SIGINT: workers finish the batch in hand and exit. One that is
    still busy `timeout` seconds later exits anyway: nothing of an unfinished batch is
    committed, so its records are read again after the restart."""
    import os
    import signal
    import threading

    stop = threading.Event()

    def on_signal(*_: object) -> None:
        if not stop.is_set():
            stop.set()
            timer = threading.Timer(timeout, lambda: (log.warning("shutdown timed out: exiting"), os._exit(0)))
            timer.daemon = True
            timer.start()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    return stop


@app.command()
def retrain(
    weibo: Annotated[
        Optional[list[Path]], typer.Option(help="Weibo-style directory to mix in (older than the stream); repeatable.")
    ] = None,
    tweets: Annotated[
        Optional[list[Path]], typer.Option(help="JSONL(.gz) of v1.1 tweets to mix in; repeatable.")
    ] = None,
    every: Annotated[Optional[str], typer.Option(help="Run now and then every interval: 24h, 90m, 1h30m.")] = None,
    cron: Annotated[Optional[str], typer.Option(help="Run on a cron schedule (UTC), e.g. '0 3 * * *'.")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Train a new model on what the stream stored; activate it if the held-out gate passes.

    Labels are the hashtags authors put at the start or end of root posts; the newest posts
    are held out; new and active models are scored on them and the new one becomes active
    unless its F1@1 is worse by more than RETRAIN_F1_TOLERANCE. Either way the version,
    its metrics and its data counts go into model_versions. One run at a time (a Postgres
    advisory lock): a run that finds another going trains nothing."""
    from threadtag.workers.retraining import retrain as run_retrain
    from threadtag.workers.schedule import next_time, run_periodically
    from threadtag.workers.training_set import file_candidates

    settings = get_settings()
    if every is not None and cron is not None:
        raise typer.BadParameter("give --every or --cron, not both")
    if every is not None or cron is not None:
        try:
            next_time(datetime.now(timezone.utc), every, cron)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    missing = [str(p) for p in [*(weibo or []), *(tweets or [])] if not p.exists()]
    if missing:
        raise typer.BadParameter(f"not found: {', '.join(missing)}")
    engine = _migrated_engine(settings)

    def once() -> None:
        extra = file_candidates(weibo or [], tweets or [])
        outcome = run_retrain(settings, engine, extra, progress)
        typer.echo(f"{outcome.decision}: {outcome.version or '-'} ({outcome.reason})")

    try:
        if every is None and cron is None:
            once()
        else:
            run_periodically(once, every, cron, _stop_on_signals(settings.shutdown_timeout_seconds))
    finally:
        engine.dispose()


@app.command()
def migrate(
    revision: Annotated[str, typer.Option(help="Target revision; head = newest.")] = "head",
) -> None:
    """Bring the database (DATABASE_URL, else local, else embedded) to the given schema revision."""
    from threadtag.core.database import current_revision, resolve_database_url
    from threadtag.core.database import migrate as run_migrate

    url = resolve_database_url(get_settings())
    before = current_revision(url)
    run_migrate(url, revision)
    after = current_revision(url)
    # Say what the database is at, not what was asked: upgrading to an older revision changes nothing.
    change = "unchanged" if after == before else f"was {before or 'empty'}"
    note = "" if revision in ("head", after) else f"; asked for {revision}, migrate only upgrades"
    typer.echo(f"database at revision {after} ({change}{note}): {_hide_password(url)}")


@app.command()
def doctor() -> None:
    """Check what a deployment needs, one line each: the database (DATABASE_URL), the broker
    (KAFKA_BOOTSTRAP_SERVERS), the model file (MODEL_PATH) and a CJK font for `explain`.
    Exit code 3 when a required check fails."""
    from threadtag.core.failures import EXIT_CONNECTION
    from threadtag.doctor import run_checks

    _quiet_kafka_client()
    checks = run_checks(get_settings())
    for check in checks:
        typer.echo(check.line())
    if any(c.required and not c.ok for c in checks):
        raise typer.Exit(EXIT_CONNECTION)


def _quiet_kafka_client() -> None:
    """One-shot commands report a broker that does not answer in their own one line; the
    client's connection retries would add three more. LOG_LEVEL=DEBUG keeps them."""
    import logging

    if get_settings().log_level != "DEBUG":
        logging.getLogger("kafka").setLevel(logging.CRITICAL)


def _hide_password(url: str) -> str:
    """The URL without its password, for printing."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def console_main() -> None:
    """The console entry point: a failure a person can fix (a server that does not answer,
    an unusable file) is one line with a hint and its exit code; LOG_LEVEL=DEBUG keeps the
    traceback."""
    import os
    import sys

    from threadtag.core.failures import describe

    try:
        app()
    except Exception as exc:
        failure = describe(exc)
        if failure is None or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG":
            raise
        typer.echo(failure.line(), err=True)
        sys.exit(failure.code)


if __name__ == "__main__":
    console_main()
