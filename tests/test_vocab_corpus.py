from datetime import datetime, timedelta, timezone

import pytest

from tests.helpers.paths import SAMPLE_THREADS
from threadtag.models.corpus import assemble_threads, load_tweet_threads, load_weibo
from threadtag.models.vocab import SPECIALS, Vocab
from threadtag.schemas.posts import InvalidPost, Post, from_twitter_v1


def test_vocab_orders_by_frequency_and_maps_unknowns():
    vocab = Vocab.build([["b", "a", "b"], ["c", "b", "a"]], max_size=6)
    assert vocab.itos == [*SPECIALS, "b", "a"]
    assert vocab.encode(["a", "zzz"]) == [5, vocab.unk_id]


def _post(pid: str, parent: str | None, minute: int) -> Post:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return Post(id=pid, parent_id=parent, created_at=t0 + timedelta(minutes=minute), text=pid, platform="test")


def test_threads_follow_links_to_any_depth_in_time_order():
    posts = [_post("c3", "c2", 3), _post("c1", "r", 1), _post("r", None, 0), _post("c2", "c1", 2), _post("b", "c1", 2)]
    posts.append(_post("orphan", "missing", 1))
    [(root, replies)] = assemble_threads(posts)
    assert root.id == "r"
    assert [p.id for p in replies] == ["c1", "b", "c2", "c3"]  # ties on time broken by id


def test_twitter_v1_adapter_rejects_missing_id():
    with pytest.raises(InvalidPost, match="id_str"):
        from_twitter_v1({"created_at": "Wed Jan 07 11:14:38 +0000 2015", "text": "x"})


def test_sample_threads_give_labelled_examples():
    examples = load_tweet_threads(SAMPLE_THREADS)
    assert len(examples) == 24
    first = examples[0]
    assert first.tags == [["aus", "open"]] and "azarenka" in first.post and "tomic" in first.conv
    assert {" ".join(t) for e in examples for t in e.tags} >= {"snow day", "election night", "running community"}


def test_weibo_lines_stay_aligned(weibo_dir):
    examples = load_weibo(weibo_dir, 0, 5)
    assert examples[1].tags == [["愚人节", "快乐"]]
    assert len(load_weibo(weibo_dir, 3613)) == 400


def test_twitter_times_parse_as_strptime_does():
    from datetime import datetime

    import pytest

    from threadtag.schemas.posts import _TWITTER_TIME, twitter_time

    good = (
        "Mon Mar 02 09:45:10 +0000 2015",
        "Fri May 01 12:00:00 +0200 2026",
        "Thu Feb 29 00:00:00 +0000 2024",
        "Mon Mar 02 9:45:10 +0000 2015",
    )
    for value in good:
        assert twitter_time(value) == datetime.strptime(value, _TWITTER_TIME)
    for bad in ("Sun Feb 29 23:59:59 +0000 2015", "Mon Mar 02 25:45:10 +0000 2015", "yesterday"):
        with pytest.raises(ValueError):
            twitter_time(bad)
