"""The live index: labelled roots the stream stores become retrievable without retraining,
in the database alone and end to end through the workers (real broker, real PostgreSQL)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.streaming import produce, store_posts, stream_env, stream_worker, tweet, wait_for
from threadtag.app import recipes
from threadtag.app.processes import CommandProcess
from threadtag.app.schema import migrate
from threadtag.core.settings import Settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.corpus import thread_example
from threadtag.models.predictor import HashtagPredictor
from threadtag.schemas.posts import from_twitter_v1
from threadtag.workers.live_index import LiveIndex

NEW = "Quantum kittens invaded the physics lab this morning, total chaos #QuantumKittens"
SIMILAR = "The quantum kittens are back in the physics lab, chaos again"


def _annotator(sample_model) -> HybridAnnotator:
    annotator = recipes.predictor(sample_model, Settings())
    assert isinstance(annotator, HybridAnnotator), "the sample model carries the hybrid ranker"
    return annotator


def test_a_stored_labelled_root_is_indexed_once_and_again_when_its_conversation_closes(database_url, sample_model):
    migrate(database_url)
    engine = create_engine(database_url)
    annotator = _annotator(sample_model)
    live = LiveIndex(annotator, every=60.0)
    before = len(annotator.model.index)
    posts = [from_twitter_v1(json.loads(tweet(7001, None, 0, NEW))), from_twitter_v1(json.loads(tweet(7002, 7001, 1)))]
    store_posts(engine, posts)
    with engine.connect() as conn:
        assert live.refresh(conn) == 1
        assert live.refresh(conn) == 0  # not due: every 60 s
        assert live.refresh(conn, force=True) == 0  # nothing new
        conn.execute(text("UPDATE conversations SET closed_at = now() WHERE root_id = '7001'"))
        conn.commit()
        live.refresh(conn, force=True)
    engine.dispose()
    index = annotator.model.index
    assert len(index) == before + 1 and index.keys[-1] == "7001" and index.tags[-1] == ["quantum kittens"]
    query = thread_example(SIMILAR, [])
    [ranked] = annotator.rank([query], before=[float("inf")])
    assert ranked[0].tag == "quantum kittens"
    [own] = annotator.rank([thread_example(NEW, [])], exclude=["7001"], before=[float("inf")])
    assert "quantum kittens" not in [h.tag for h in own]  # a post never votes for itself


@pytest.mark.slow
def test_a_new_hashtag_is_suggested_for_a_similar_post_without_retraining(broker, database_url, sample_model, tmp_path):
    env = stream_env(broker, tmp_path, database_url, conversation_close_seconds=3)
    env.update({"MODEL_PATH": str(sample_model), "INFER_BATCH_WAIT_MS": "100", "INDEX_REFRESH_SECONDS": "1"})
    stream = stream_worker(env, tmp_path / "stream.log").start()
    infer = CommandProcess(["infer"], env, tmp_path / "infer.log").start()
    engine = create_engine(database_url)

    def tags_of(root: str) -> list[str]:
        with engine.connect() as conn:
            try:
                row = conn.execute(text("SELECT hashtags FROM latest_annotations WHERE root_id = :r"), {"r": root})
            except Exception:  # noqa: BLE001 - before the first migration
                return []
            found = row.scalar()
        return [h["tag"] for h in found or []]

    try:
        produce(broker, env["TWEETS_TOPIC"], [(0, b"a", tweet(8001, None, 0, NEW))])
        wait_for(lambda: bool(tags_of("8001")), 90, "the labelled post's annotation", tmp_path / "infer.log")
        # The model never saw this hashtag, and the labelled post did not suggest it to itself.
        assert "quantum kittens" not in tags_of("8001")
        produce(broker, env["TWEETS_TOPIC"], [(0, b"b", tweet(8002, None, 1, SIMILAR))])
        wait_for(lambda: bool(tags_of("8002")), 60, "the similar post's annotation", tmp_path / "infer.log")
        with engine.connect() as conn:
            scored = conn.execute(
                text("SELECT gold_tags, hits_at_1, hits_at_5 FROM annotations WHERE root_id = '8001'")
            )
            quality = conn.execute(text("SELECT posts, hits_at_1, f1_at_1 FROM live_quality")).all()
            gold, at_1, at_5 = scored.first()
    finally:
        infer.stop()
        stream.stop()
    engine.dispose()
    assert tags_of("8002")[0] == "quantum kittens"
    # The labelled post was scored against its author's hashtag before that hashtag was indexed.
    assert gold == ["quantum kittens"] and at_1 == 0 and at_5 == 0
    assert [tuple(row) for row in quality] == [(1, 0, 0)]


def test_index_refresh_seconds_0_serves_the_training_posts_only(sample_model):
    from threadtag.models.text import TextMemo
    from threadtag.workers.inference import ServedModel

    annotator = _annotator(sample_model)
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")  # never connected
    assert ServedModel(engine, annotator, recipes.load_checkpoint, 60.0, False, index_every=0).live is None
    memo = TextMemo(10)
    served = ServedModel(engine, annotator, recipes.load_checkpoint, 60.0, False, index_every=5, texts=memo)
    assert served.live is not None and served.live.texts is memo  # requests and the index share one memo


def test_the_served_number_of_beam_candidates_is_the_settings_not_the_checkpoints(sample_model):
    for wanted in (3, 8):
        annotator = recipes.predictor(sample_model, Settings(hybrid_beam_candidates=wanted))
        assert isinstance(annotator, HybridAnnotator)
        assert annotator.model.config.beam_candidates == wanted
        assert annotator.predictor.top_k == max(Settings().top_k, wanted)  # beam search runs for what is taken


def test_the_hybrids_generator_searches_hybrid_beam_size_wide_and_the_generator_alone_beam_size(sample_model):
    settings = Settings(hybrid_beam_size=7, beam_size=12)
    annotator = recipes.predictor(sample_model, settings)
    assert isinstance(annotator, HybridAnnotator) and annotator.predictor.beam_size == 7
    alone = recipes.predictor(sample_model, settings.model_copy(update={"hybrid": False}))
    assert isinstance(alone, HashtagPredictor) and alone.beam_size == 12
    narrow = recipes.predictor(sample_model, Settings(hybrid_beam_size=3, hybrid_beam_candidates=5))
    assert isinstance(narrow, HybridAnnotator)
    assert narrow.predictor.top_k == 3  # no more finished hashtags asked of the beam than it is wide
