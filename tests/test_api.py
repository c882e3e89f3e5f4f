"""The Python API: a checkpoint loaded from code ranks hashtags as the CLI's predictor does."""

from __future__ import annotations

import pytest

from threadtag.api import Thread, load
from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import CheckpointError

THREADS = [
    Thread("what a final at the australian open tonight", ["federer was unreal", "best match of the year"]),
    Thread("rain again all day in london", ["bring an umbrella"]),
    Thread("new phone launch event today", []),
]


def test_load_and_predict_rank_as_the_serving_predictor(sample_model):
    settings = Settings(top_k=3)
    tagger = load(sample_model, settings)
    served = recipes.predictor(sample_model, settings)
    for thread in THREADS:
        ranked = tagger.predict(thread.post, thread.replies)
        assert ranked == served.predict_thread(thread.post, list(thread.replies))
        assert len(ranked) == 3 and all(hashtag.tag for hashtag in ranked)
    assert tagger.predict_many(THREADS) == [tagger.predict(t.post, t.replies) for t in THREADS]
    assert tagger.predict_many([]) == [] and tagger.lang == "en" and tagger.version


def test_a_missing_checkpoint_raises_checkpoint_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load(tmp_path / "none.pt", Settings())
