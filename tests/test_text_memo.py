"""The inference worker's text memo: the same examples as the plain preparation, each text
cut once, and callers cannot change what it keeps."""

from __future__ import annotations

from threadtag.models.corpus import thread_example
from threadtag.models.text import TextMemo

THREADS = [
    ("还是我们熟悉的iphone DIGIT爱URL #马航飞机失联# #吴亦凡#", ["愤怒的小鸟好可爱MENTION", "哈哈"], "zh"),
    ("The umpire said nothing again #AusOpen", ["Nadal was quiet @bob", "what a match http://t.co/x"], "en"),
    ("#早安# 今天天气不错", [], "zh"),
]


def test_the_memo_prepares_every_thread_as_the_plain_preparation_does():
    memo = TextMemo(100)
    for _ in range(2):  # the second round comes from the memo
        for post, replies, lang in THREADS:
            assert thread_example(post, replies, lang, memo) == thread_example(post, replies, lang)


def test_each_text_is_cut_once_and_a_caller_cannot_change_what_is_kept():
    memo = TextMemo(100)
    post, replies, lang = THREADS[0]
    first = thread_example(post, replies, lang, memo)
    first.post.append("changed")
    first.tags[0].append("changed")
    first.conv.clear()
    again = thread_example(post, replies, lang, memo)
    assert again == thread_example(post, replies, lang)
    assert memo._labels.cache_info().misses == 1 and memo._labels.cache_info().hits == 1
    assert memo._tokens.cache_info().misses == len(replies) and memo._tokens.cache_info().hits == len(replies)


def test_a_memo_of_size_zero_keeps_nothing():
    memo = TextMemo(0)
    post, replies, lang = THREADS[1]
    assert thread_example(post, replies, lang, memo) == thread_example(post, replies, lang)
    assert memo._tokens.cache_info().currsize == 0
