"""Retraining data: the pure parts, and the threads read back from PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import SAMPLE_THREADS
from tests.helpers.streaming import store_threads
from threadtag.app import recipes
from threadtag.app.schema import migrate
from threadtag.core.settings import Settings
from threadtag.models.corpus import Example
from threadtag.workers.training_set import (
    Candidate,
    file_candidates,
    select,
    split_by_time,
    stream_candidates,
    vocab_coverage,
)


def _ex(post: str, tags: str = "tag", conv: str = "a reply", lang: str = "en") -> Example:
    return Example(post.split(), conv.split(), [t.split() for t in tags.split(";") if t], lang)


def test_selection_skips_by_the_settings_and_counts_each_reason():
    candidates = [
        Candidate(_ex("first post")),
        Candidate(_ex("first post")),  # duplicate of the one before
        Candidate(_ex("first post", tags="other tag")),  # same text, other label: not a duplicate
        Candidate(_ex("shared again"), is_retweet=True),
        Candidate(_ex("no label", tags="")),
        Candidate(_ex("", tags="tag")),
        Candidate(_ex("lonely post", conv="")),
        Candidate(_ex("帖子", lang="zh")),
        Candidate(_ex("last post")),
    ]
    chosen = select(candidates, "en", Settings())
    assert [" ".join(e.post) for e in chosen.examples] == ["first post", "first post", "last post"]
    assert chosen.record() == {
        "candidates": 9,
        "used": 3,
        "skipped": {
            "duplicate": 1,
            "empty_conversation": 1,
            "empty_post": 1,
            "no_hashtags": 1,
            "other_language": 1,
            "retweet": 1,
        },
    }
    lenient = Settings(retrain_deduplicate=False, retrain_skip_retweets=False, retrain_empty_conversations="keep")
    assert len(select(candidates, "en", lenient).examples) == 6


def test_newest_examples_are_held_out_and_the_ones_before_are_dev():
    examples = [_ex(f"post {i}") for i in range(20)]
    train, dev, heldout = split_by_time(examples, 0.1, 0.15)
    assert [e.post[1] for e in heldout] == ["18", "19"]
    assert [e.post[1] for e in dev] == ["15", "16", "17"]
    assert len(train) == 15 and train[-1].post[1] == "14"
    with pytest.raises(ValueError):
        split_by_time(examples[:2], 0.1, 0.1)


def test_vocabulary_coverage_counts_tokens():
    assert vocab_coverage({"a", "b"}, [_ex("a b c", tags="a", conv="d")]) == pytest.approx(3 / 5)  # a b c, d, a


def test_threads_come_back_from_the_database_labelled_and_in_time_order(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    assert store_threads(engine) == 24
    candidates = stream_candidates(engine, bundled_sample=recipes.bundled_sample_ids())
    engine.dispose()
    assert len(candidates) == 24 and not any(c.is_retweet for c in candidates)
    first = candidates[0].example
    # "... should say something #AusOpen": the edge hashtag left the text and became the label.
    assert first.tags == [["aus", "open"]] and "#ausopen" not in first.post and first.post[0] == "azarenka"
    # Replies in time order: the first reply's words come first.
    assert first.conv[:4] == ["nadal", "was", "so", "quiet"]
    # A file of the same threads given on the command line becomes the same examples; stored,
    # they are the bundled sample's (which retraining leaves out), given as a file they are not.
    assert [c.example for c in file_candidates([], [SAMPLE_THREADS])] == [c.example for c in candidates]
    assert all(c.bundled_sample for c in candidates)
    assert not any(c.bundled_sample for c in file_candidates([], [SAMPLE_THREADS]))
    assert select(candidates, "en", Settings()).record()["skipped"] == {"bundled_sample": 24}


def test_a_window_keeps_only_the_newer_roots(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    store_threads(engine)
    with engine.connect() as conn:
        times = conn.execute(text("SELECT created_at FROM posts WHERE parent_id IS NULL ORDER BY created_at")).scalars()
        since = list(times)[10]
    newer = stream_candidates(engine, since)
    everything = stream_candidates(engine)
    engine.dispose()
    assert len(newer) == 14 and newer == everything[10:]


def test_retrain_refuses_a_bad_schedule_before_touching_the_database():
    from typer.testing import CliRunner

    from threadtag.cli import app

    for args in (["--every", "soon"], ["--cron", "at night"], ["--every", "1h", "--cron", "0 3 * * *"]):
        result = CliRunner().invoke(app, ["retrain", *args])
        assert result.exit_code == 2, result.output


def test_the_gate_leaves_out_what_the_active_model_trained_on():
    from threadtag.models.corpus import example_key
    from threadtag.workers.training_set import unseen_by

    seen, fresh = Example(["a", "b"], ["c"], [["x"]], "en"), Example(["d", "e"], ["f"], [["y"]], "en")

    class Trained:  # a checkpoint's training record is all unseen_by reads
        training = {"trained_on": [example_key(seen)]}

    assert unseen_by(Trained(), [seen, fresh]) == [fresh]  # type: ignore[arg-type]
    assert unseen_by(None, [seen, fresh]) == [seen, fresh]


def test_training_records_what_it_trained_on(sample_model):
    from threadtag.app import recipes
    from threadtag.models.checkpoint import Checkpoint
    from threadtag.models.corpus import example_key, load_tweet_threads

    checkpoint = Checkpoint.load(sample_model)
    examples = load_tweet_threads(recipes.SAMPLE_THREADS)
    trained = {example_key(ex) for ex in examples[: -Settings().sample_dev_threads]}
    assert set(checkpoint.training["trained_on"]) == trained
