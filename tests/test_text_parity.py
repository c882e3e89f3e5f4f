"""One text preparation for training and serving: a Weibo line read offline and the same line
sent through the stream as raw Weibo text give the model the same input and the same top 5."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.streaming import produce, stream_env, stream_worker, wait_for
from threadtag.app import recipes
from threadtag.app.processes import CommandProcess
from threadtag.models.corpus import CorpusError, load_weibo, thread_example, weibo_example, weibo_lines
from threadtag.models.text import join_words
from threadtag.pipeline.weibo_tweets import root_id, weibo_tweets

LINE = ("还是 我们 熟悉 的 iphone DIGIT 爱 URL", "愤怒 的 小鸟 好 可爱 MENTION", "马航 飞机 失联;吴亦凡")


def test_words_join_back_into_raw_text_with_spaces_only_between_latin_words():
    assert join_words(["还是", "iphone", "DIGIT", "年", "的", "cp", "好"]) == "还是iphone DIGIT年的cp好"


def test_a_weibo_line_is_prepared_as_the_raw_post_it_stands_for():
    post, reply = weibo_tweets([LINE], reply_words=None)
    assert "#马航飞机失联# #吴亦凡#" in post and "iphone DIGIT" in post and "小鸟好可爱MENTION" in reply
    raw = "还是我们熟悉的iphone DIGIT爱URL #马航飞机失联# #吴亦凡#"
    assert weibo_example(*LINE) == thread_example(raw, ["愤怒的小鸟好可爱MENTION"], "zh")
    example = weibo_example(*LINE)
    assert example is not None and example.tags == [["马航", "飞机", "失联"], ["吴亦凡"]]
    assert "URL" in example.post and "DIGIT" in example.post and example.conv[-1] == "MENTION"


def test_misaligned_weibo_files_are_refused(tmp_path):
    (tmp_path / "post.txt").write_text("一 二\n三 四\n", encoding="utf-8")
    (tmp_path / "conv.txt").write_text("回复\n", encoding="utf-8")
    (tmp_path / "tag.txt").write_text("标签\n标签\n", encoding="utf-8")
    with pytest.raises(CorpusError, match="not aligned.*conv.txt 1"):
        load_weibo(tmp_path)


@pytest.mark.slow
def test_a_weibo_post_gets_the_same_top_5_offline_and_through_the_stream(
    broker, database_url, weibo_dir, tiny_settings, tmp_path
):
    lines = weibo_lines(weibo_dir)
    train = [ex for line in lines[:300] if (ex := weibo_example(*line))]
    model = tmp_path / "weibo.pt"
    recipes.fit(tiny_settings, train, train[-20:], max_epochs=2, progress=False, with_ranker=True).save(model)
    queries = lines[-12:]
    # conv.txt keeps no reply boundaries: one reply holds the whole conversation, as offline
    tweets = [t.encode() for t in weibo_tweets(queries, reply_words=None)]
    offline = recipes.predictor(model, tiny_settings).predict_examples([weibo_example(*line) for line in queries])

    env = stream_env(broker, tmp_path, database_url, conversation_close_seconds=2)
    env.update({"MODEL_PATH": str(model), "INFER_BATCH_WAIT_MS": "100", "INDEX_REFRESH_SECONDS": "1000000"})
    stream = stream_worker(env, tmp_path / "stream.log").start()
    infer = CommandProcess(["infer"], env, tmp_path / "infer.log").start()
    engine = create_engine(database_url)
    final = text(
        "SELECT count(DISTINCT a.root_id) FROM annotations a JOIN conversations c ON c.root_id = a.root_id "
        "WHERE a.final AND c.closed_at IS NOT NULL"
    )

    def all_final() -> bool:
        with engine.connect() as conn:
            try:
                return conn.execute(final).scalar() == len(queries)
            except Exception:  # noqa: BLE001 - before the first migration
                conn.rollback()
                return False

    try:
        produce(broker, env["TWEETS_TOPIC"], [(0, None, t) for t in tweets])
        wait_for(all_final, 120, "every root's final annotation", tmp_path / "infer.log")
        with engine.connect() as conn:
            rows = dict(conn.execute(text("SELECT root_id, hashtags FROM latest_annotations")).all())
    finally:
        infer.stop()
        stream.stop()
        engine.dispose()
    for i, ranked in enumerate(offline):
        assert [h["tag"] for h in rows[root_id(9_000_000_000, i)]] == [h.tag for h in ranked], f"line {i}"
