"""Training/evaluation examples and the readers that build them from corpora on disk."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from threadtag.models.text import (
    MENTION,
    PLAIN_TEXT,
    URL,
    TextPreparation,
    detect_lang,
    display_hashtag,
    join_words,
    segment_hashtag,
)
from threadtag.schemas.posts import InvalidPost, Post, from_twitter_v1
from threadtag.schemas.reply_chains import resolve_roots


@dataclass(frozen=True)
class Example:
    """A target post, its conversation (replies concatenated in time order) and gold hashtags."""

    post: list[str]
    conv: list[str]
    tags: list[list[str]]
    lang: str


def conversation_tokens_read(generator_tokens: int, hybrid_tokens: int) -> int:
    """Conversation tokens a path reads at most (0: all): the generator's and the hybrid
    ranker's, the larger. A hybrid cut of 0 means the ranker reads every token."""
    return max(generator_tokens, hybrid_tokens) if hybrid_tokens else 0


def example_key(example: Example) -> str:
    """A short fingerprint of a post and its gold hashtags: which examples a model trained on."""
    payload = json.dumps([example.post, example.tags], ensure_ascii=False)
    return hashlib.sha1(payload.encode("utf-8")).hexdigest()[:16]


def tag_text(tag: Sequence[str]) -> str:
    """A hashtag as the metrics and rankers compare it: its words joined by spaces."""
    return " ".join(tag)


class CorpusError(ValueError):
    """A corpus file a person can fix: missing, misaligned or unreadable, named with the line."""


WEIBO_FILES = ("post.txt", "conv.txt", "tag.txt")
SPLITS = ("train", "valid", "test")


def weibo_files(directory: Path, split: str | None = None) -> list[Path]:
    """The aligned post/conv/tag files of one set: `post.txt`... or, in the authors' layout,
    `<split>_post.txt`..."""
    return [directory / (f"{split}_{name}" if split else name) for name in WEIBO_FILES]


def weibo_layout(directory: Path) -> str:
    """'single' (post.txt, conv.txt, tag.txt) or 'authors' (train_/valid_[/test_] files)."""
    if all(f.exists() for f in weibo_files(directory)):
        return "single"
    if all(f.exists() for split in ("train", "valid") for f in weibo_files(directory, split)):
        return "authors"
    raise CorpusError(f"{directory} holds neither post.txt, conv.txt, tag.txt nor the authors' train_/valid_ files")


def weibo_post_text(post: str, tag_line: str) -> str:
    """A post line and its tag line as the raw Weibo text they were cut from: the words joined
    back (no spaces between Chinese words), the hashtags at its end as `#...#`."""
    tags = " ".join(display_hashtag(t, "zh") for t in tag_line.split(";") if t.strip())
    return f"{join_words(post.split())} {tags}".strip()


def weibo_example(post: str, conv: str, tag_line: str) -> Example | None:
    """One line of the aligned files, prepared as the stream prepares the raw post it stands
    for (one text preparation for training and serving); None for a line without a post or
    a hashtag."""
    example = thread_example(weibo_post_text(post, tag_line), [join_words(conv.split())], "zh")
    return example if example.post and example.tags else None


def weibo_tags(tag_line: str) -> list[str]:
    """The hashtags of a tag line as the stream would label them, words joined by spaces."""
    return [tag_text(segment_hashtag(join_words(t.split()), "zh")) for t in tag_line.split(";") if t.strip()]


def load_weibo(directory: Path, start: int = 0, stop: int | None = None, split: str | None = None) -> list[Example]:
    """Lines [start, stop) of the aligned post / conv / tag files; `split` names a set of the
    authors' layout (train, valid, test)."""
    stamps = tuple(f.stat().st_mtime_ns if f.exists() else 0 for f in weibo_files(directory, split))
    return [ex for ex in _prepared(directory, split, stamps)[start:stop] if ex]


def weibo_lines(directory: Path, split: str | None = None) -> list[tuple[str, str, str]]:
    """(post, conv, tag line) of every line of the aligned files. Files of different lengths
    are refused: a label shifted by one line would be silently wrong for every line after it."""
    files = weibo_files(directory, split)
    missing = [str(f) for f in files if not f.exists()]
    if missing:
        raise CorpusError(f"Weibo-style data needs post, conv and tag files; missing: {', '.join(missing)}")
    posts, convs, tags = (_lines(f) for f in files)
    if not len(posts) == len(convs) == len(tags):
        counts = ", ".join(f"{f.name} {len(lines)}" for f, lines in zip(files, (posts, convs, tags)))
        raise CorpusError(f"the Weibo files are not aligned line by line: {counts} lines")
    return list(zip(posts, convs, tags))


@lru_cache(maxsize=8)
def _prepared(directory: Path, split: str | None, stamps: tuple[int, ...]) -> list[Example | None]:
    """Every line of the files prepared (jieba takes seconds); `stamps` (the files' mtimes)
    make a changed file a new cache entry."""
    return [weibo_example(*line) for line in weibo_lines(directory, split)]


def _lines(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{path} is not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    return text.removesuffix("\n").split("\n")


def load_weibo_test(directory: Path) -> list[Example]:
    """A test set: `test_*` files of the authors' layout when present, else post.txt..."""
    return load_weibo(directory, split="test" if weibo_files(directory, "test")[0].exists() else None)


def open_text(path: Path) -> Iterator[str]:
    """Lines of a text file, gzip-compressed when the name ends in .gz."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        yield from handle


def read_tweets(path: Path) -> list[Post]:
    """Twitter v1.1 JSON lines -> posts. A broken line stops the read with its line number."""
    try:
        return [_tweet(path, n, line) for n, line in enumerate(open_text(path), start=1) if line.strip()]
    except (OSError, EOFError, UnicodeDecodeError) as exc:  # missing, a folder, a broken .gz
        raise CorpusError(f"cannot read tweets from {path}: {exc}") from exc


def _tweet(path: Path, number: int, line: str) -> Post:
    try:
        return from_twitter_v1(json.loads(line))
    except (json.JSONDecodeError, InvalidPost) as exc:
        raise CorpusError(f"{path}:{number}: not a v1.1 tweet: {exc}") from exc


def assemble_threads(posts: Iterable[Post]) -> list[tuple[Post, list[Post]]]:
    """Group posts into (root, replies in (created_at, id) order), following parent links to any depth.

    Roots are found as the stream finds them (schemas/reply_chains.py); replies whose chain
    leads to a post that is not present, or around a cycle, are left out.
    """
    by_id = {p.id: p for p in posts}
    roots = resolve_roots(list(by_id.values()), {})
    threads: dict[str, list[Post]] = {p.id: [] for p in by_id.values() if p.parent_id is None}
    for post in by_id.values():
        root = roots[post.id]
        if post.parent_id is not None and root in threads:
            threads[root].append(post)
    return [
        (by_id[root], sorted(replies, key=lambda p: (p.created_at, p.id)))
        for root, replies in sorted(threads.items(), key=lambda item: (by_id[item[0]].created_at, item[0]))
    ]


def reply_tokens(replies: Sequence[str], lang: str, texts: TextPreparation = PLAIN_TEXT) -> list[str]:
    """The conversation: tokens of each reply in order, skipping replies with no content."""
    conv: list[str] = []
    for reply in replies:
        tokens = texts.tokenize(reply, lang)
        if any(t not in (MENTION, URL) for t in tokens):
            conv.extend(tokens)
    return conv


def thread_example(
    post_text: str, replies: Sequence[str], lang: str | None = None, texts: TextPreparation = PLAIN_TEXT
) -> Example:
    """An example from raw texts: edge hashtags of the post become the gold labels. `texts`:
    a TextMemo where the same texts come again (the inference worker), same results."""
    lang = lang or detect_lang(post_text)
    labelled = texts.split_labels(post_text, lang)
    return Example(post=labelled.tokens, conv=reply_tokens(replies, lang, texts), tags=labelled.hashtags, lang=lang)


def post_lang(post: Post) -> str:
    return lang_of(post.lang, post.text)


def lang_of(stored_lang: str | None, text: str) -> str:
    """en or zh: the platform's language tag when it says Chinese, else detected from the text."""
    return "zh" if stored_lang in ("zh", "zh-cn", "zh-tw") else detect_lang(text)


def load_tweet_threads(path: Path, labelled_only: bool = True) -> list[Example]:
    """Examples from a JSONL(.gz) of v1.1 tweets: one per source tweet, retweets left out."""
    examples = []
    for root, replies in assemble_threads(p for p in read_tweets(path) if not p.is_retweet):
        example = thread_example(root.text, [r.text for r in replies], post_lang(root))
        if example.post and (example.tags or not labelled_only):
            examples.append(example)
    return examples
