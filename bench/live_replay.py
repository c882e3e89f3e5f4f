"""The Weibo dev split as a live stream: what the pipeline's final annotations score beside
`evaluate` on the same model and posts.

    .venv/bin/python -m bench.live_replay --model runs/weibo-hybrid-s13.pt [--posts 400] [--reply-words 15]

Each dev line becomes a root tweet (pipeline/weibo_tweets.py): the post as raw Weibo text
followed by its gold hashtags as `#...#` (edge hashtags: the labels, removed from what the
model reads), its conversation cut into replies of 15 words. They go through the embedded broker, one
stream worker and one inference worker into a fresh database on the local PostgreSQL; each
root's newest annotation by the model is scored from `annotations` with the metrics code of
`evaluate`. Two live runs: with the live index off (INDEX_REFRESH_SECONDS=0: the
checkpoint's training posts only, as `evaluate` sees them) and live (each post also sees
the labelled dev posts stored before it).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from bench.common import FIRST_ID, WEIBO, machine, table
from bench.harness import bench_settings, serving_database, stream_and_infer
from threadtag.app import recipes
from threadtag.core.broker import EmbeddedBroker
from threadtag.core.settings import get_settings
from threadtag.models.corpus import weibo_example, weibo_lines
from threadtag.models.evaluation import evaluate, score_ranked
from threadtag.pipeline.replay import replay
from threadtag.pipeline.weibo_tweets import root_id, weibo_tweets


def live_run(
    model: Path, lines: list[tuple[str, str, str]], reply_words: int | None, live_index: bool, tmp: Path
) -> tuple[float, float, float]:
    """(F1@1, F1@5, seconds to every final annotation) through the real workers."""
    examples = [weibo_example(*line) for line in lines]
    source = tmp / f"dev-{live_index}.jsonl"
    source.write_text("\n".join(weibo_tweets(lines, FIRST_ID, reply_words)) + "\n", encoding="utf-8")
    database, engine = serving_database(model)
    with EmbeddedBroker() as broker:
        settings = bench_settings(
            broker.bootstrap,
            tmp,
            database_url=database,
            model_path=model,
            conversation_close_seconds=5,
            annotate_quiet_seconds=1,
            index_refresh_seconds=1 if live_index else 0,
        ).namespaced(uuid.uuid4().hex[:6])
        with stream_and_infer(settings, broker.bootstrap, tmp, f"-{live_index}"):
            started = time.monotonic()
            replay(source, broker.bootstrap, settings.tweets_topic, None, settings.max_message_bytes, 1, False)
            final = text(
                "SELECT count(DISTINCT a.root_id) FROM annotations a JOIN conversations c ON c.root_id = a.root_id "
                "WHERE a.final AND c.closed_at IS NOT NULL"
            )
            while True:
                with engine.connect() as conn:
                    if conn.execute(final).scalar() >= len(examples):
                        break
                    if conn.execute(text("SELECT count(*) FROM dead_letters")).scalar():
                        raise RuntimeError(f"a record was dead-lettered; see the dead_letters table of {database}")
                if time.monotonic() - started > 1800:
                    raise TimeoutError(f"final annotations missing after 30 min; see {tmp}")
                time.sleep(1)
            seconds = time.monotonic() - started
    rows = text("SELECT DISTINCT ON (root_id) root_id, hashtags FROM annotations ORDER BY root_id, request_seq DESC")
    with engine.connect() as conn:
        ranked = {root: [h["tag"] for h in tags] for root, tags in conn.execute(rows)}
    engine.dispose()
    scores = score_ranked([ranked.get(root_id(FIRST_ID, i), []) for i in range(len(lines))], examples)
    return 100 * scores.f1_at_1, 100 * scores.f1_at_5, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--reply-words", type=int, default=15, help="words a reply; 0: the conversation as one reply")
    args = parser.parse_args()
    lines = weibo_lines(WEIBO)[-400:][: args.posts]
    examples = [weibo_example(*line) for line in lines]
    if None in examples:
        raise SystemExit("a dev line has no post or no hashtag: the bench needs every line scored")
    settings = get_settings()
    offline = evaluate(recipes.predictor(args.model, settings), examples, progress=False).scores
    rows = [["evaluate (offline)", f"{100 * offline.f1_at_1:.2f}", f"{100 * offline.f1_at_5:.2f}", "-"]]
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-replay-"))
    for live_index in (False, True):
        f1, f5, seconds = live_run(args.model, lines, args.reply_words or None, live_index, tmp)
        name = "stream + infer, " + ("live index" if live_index else "live index off (INDEX_REFRESH_SECONDS=0)")
        rows.append([name, f"{f1:.2f}", f"{f5:.2f}", f"{seconds:.0f}"])
    print(f"machine: {machine()}")
    replies = f"replies of {args.reply_words} words" if args.reply_words else "the conversation as one reply"
    print(f"model: {args.model}; {len(lines)} Weibo dev posts as raw Weibo text, {replies}")
    print(table(["path", "F1@1", "F1@5", "s to every final annotation"], rows))


if __name__ == "__main__":
    main()
