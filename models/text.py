"""Text preparation: tokenization, placeholder tokens, hashtag labels and hashtag segmentation.

English goes through ekphrasis' social tokenizer and is lower-cased; Chinese is cut by
jieba. Links, mentions and numbers become URL, MENTION and DIGIT (paper, section 3).
Hashtags at the start or end of a post are gold labels and leave the text; hashtags in
the middle stay as their words. A hashtag becomes a word sequence (#AusOpen -> aus open).
"""

from __future__ import annotations

import logging
import operator
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate

URL = "URL"
MENTION = "MENTION"
DIGIT = "DIGIT"

_URL_RE = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_MENTION_RE = re.compile(r"@\w+")
_NUMBER_RE = re.compile(r"[+-]?\d+(?:[.,:/]\d+)*(?:st|nd|rd|th|%)?$")
_CJK_RE = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Weibo writes topics as #words#; Twitter as #word.
_WEIBO_TAG_RE = re.compile(r"#([^#\n]{1,60})#")
_ALNUM_RUN_RE = re.compile(r"[A-Za-z]+|\d+")
_CAMEL_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
# Tokens that carry no content: they do not stop a hashtag from counting as "at the end".
_PUNCT_RE = re.compile(r"^[^\w#@]+$")
_CONTENT_CHAR_RE = re.compile(r"[\w@]")  # what a token needs not to be filler ('#' never reaches jieba)


def has_cjk(text: str) -> bool:
    return _CJK_RE.search(text) is not None


def detect_lang(text: str) -> str:
    """'zh' when a tenth or more of the non-space characters are CJK, else 'en'."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return "en"
    cjk = sum(1 for c in chars if _CJK_RE.match(c))
    return "zh" if cjk * 10 >= len(chars) else "en"


@lru_cache(maxsize=1)
def _social_tokenizer():  # type: ignore[no-untyped-def]
    from ekphrasis.classes.tokenizer import SocialTokenizer

    # ekphrasis compiles a regex that Python warns about; nothing we can change.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return SocialTokenizer(lowercase=False).tokenize


@lru_cache(maxsize=1)
def _jieba():  # type: ignore[no-untyped-def]
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


@lru_cache(maxsize=1)
def _wordsegment():  # type: ignore[no-untyped-def]
    import wordsegment

    wordsegment.load()  # unigram/bigram counts shipped inside the wheel: no download
    return wordsegment


def has_content(text: str) -> bool:
    """False for text that is only mentions, links, punctuation and space (an empty reply)."""
    stripped = _MENTION_RE.sub(" ", _URL_RE.sub(" ", text))
    return any(ch.isalnum() for ch in stripped)


def _placeholder(token: str) -> str | None:
    if _URL_RE.match(token):
        return URL
    if _MENTION_RE.fullmatch(token):
        return MENTION
    if _NUMBER_RE.match(token):
        return DIGIT
    return None


def segment_hashtag(tag: str, lang: str) -> list[str]:
    """Split a hashtag (with or without '#') into lower-cased words.

    English: letter/digit runs, then camel case (AusOpen -> aus open); an all-lower or
    all-upper run is split with the shipped `wordsegment` statistics (charliehebdo ->
    charlie hebdo). Chinese: jieba.
    """
    body = tag.strip().strip("#").strip()
    if not body:
        return []
    if lang == "zh" or _CJK_RE.search(body):
        return [w.lower() for w in _jieba().cut(body) if w.strip() and w != "#"]
    words: list[str] = []
    for run in _ALNUM_RUN_RE.findall(body):
        if run.isdigit():
            words.append(run)
        elif run.islower() or run.isupper():
            words.extend(_wordsegment().segment(run.lower()) if len(run) > 3 else [run.lower()])
        else:
            words.extend(piece.lower() for piece in _CAMEL_RE.findall(run))
    return words


def join_words(words: Sequence[str]) -> str:
    """Segmented words as the raw text they were cut from: Chinese is written without spaces,
    so a space stays only between two Latin letters or digits (`iphone 6`, `DIGIT 年`)."""
    text = ""
    for word in words:
        if text and text[-1].isascii() and text[-1].isalnum() and word[:1].isascii() and word[:1].isalnum():
            text += " "
        text += word
    return text


def display_hashtag(tag: str, lang: str | None = None) -> str:
    """A hashtag (words joined by spaces) as its users write it: Chinese (or any tag of a
    Chinese post) the Weibo way, `#马航飞机失联#`; other scripts in camel case, `#AusOpen`
    (segment_hashtag reads that back as the same words; Chinese as jieba cuts it)."""
    words = tag.split()
    if lang == "zh" or has_cjk(tag):
        return "#" + join_words(words) + "#"
    return "#" + "".join(w[:1].upper() + w[1:] for w in words)


def _tokenize_en(text: str) -> list[str]:
    tokens: list[str] = []
    for raw in _social_tokenizer()(text):
        placeholder = _placeholder(raw)
        if placeholder is not None:
            tokens.append(placeholder)
        elif raw.startswith("#") and len(raw) > 1:
            tokens.extend(segment_hashtag(raw, "en"))
        else:
            tokens.append(raw.lower())
    return tokens


# Links, mentions, numbers, and the placeholders themselves as the Weibo files write them
# (a replay of those files, or any text that carries them, keeps them placeholders).
_ZH_SPECIAL_RE = re.compile(
    r"(?<![A-Za-z])(?:URL|MENTION|DIGIT)(?![A-Za-z])|(?i:(?:https?://|www\.)\S+)|@[\w\-]+|[+-]?\d+(?:[.,:/]\d+)*%?"
)


def _tokenize_zh(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    for match in _ZH_SPECIAL_RE.finditer(text):
        tokens.extend(_cut_zh(text[pos : match.start()]))
        found = match.group()
        tokens.append(found if found in (URL, MENTION, DIGIT) else _placeholder(found) or DIGIT)
        pos = match.end()
    tokens.extend(_cut_zh(text[pos:]))
    return tokens


def _cut_zh(chunk: str) -> list[str]:
    return [w.lower() for w in _jieba().cut(chunk.replace("#", " ")) if w.strip()]


def tokenize(text: str, lang: str) -> list[str]:
    """Tokens of a post or reply, hashtags kept as their words, placeholders applied."""
    if lang == "zh":
        return _tokenize_zh(_WEIBO_TAG_RE.sub(lambda m: " " + m.group(1) + " ", text))
    return _tokenize_en(text)


# The edge hashtags a post keeps as its labels (the rest leave its text all the same): each
# costs segmenting and becomes a label retrieval votes with, where the Weibo posts carry 4
# at most; a post with 10,000 held an inference batch for 18 s.
LABELS_KEPT = 32


@dataclass(frozen=True)
class LabelledText:
    """A post split into the text the model reads and the hashtags its author gave it."""

    tokens: list[str]
    hashtags: list[list[str]]


def _is_filler(token: str) -> bool:
    return bool(_PUNCT_RE.match(token)) or _URL_RE.match(token) is not None


def _edge_hashtag_spans_en(raw_tokens: list[str]) -> tuple[set[int], set[int]]:
    """Indexes of hashtag tokens at the start / end (only fillers or hashtags beside them)."""
    is_tag = [t.startswith("#") and len(t) > 1 for t in raw_tokens]
    content = [i for i, t in enumerate(raw_tokens) if not is_tag[i] and not _is_filler(t)]
    if not content:
        return {i for i, tag in enumerate(is_tag) if tag}, set()
    first, last = content[0], content[-1]
    leading = {i for i in range(first) if is_tag[i]}
    trailing = {i for i in range(last + 1, len(raw_tokens)) if is_tag[i]}
    return leading, trailing


def _dedupe_tags(tags: list[list[str]]) -> list[list[str]]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for tag in tags:
        key = tuple(tag)
        # Single-character hashtags say nothing (paper, section 3).
        if key and key not in seen and len("".join(tag)) > 1:
            seen.add(key)
            out.append(tag)
    return out


def split_labels(text: str, lang: str) -> LabelledText:
    """Take the start/end hashtags of `text` as labels; tokenize the rest."""
    if lang == "zh":
        return _split_labels_zh(text)
    raw = _social_tokenizer()(text)
    leading, trailing = _edge_hashtag_spans_en(raw)
    edge = leading | trailing
    tags = [segment_hashtag(raw[i], "en") for i in sorted(edge)[:LABELS_KEPT]]
    body = " ".join(t for i, t in enumerate(raw) if i not in edge)
    return LabelledText(tokens=_tokenize_en(body), hashtags=_dedupe_tags(tags))


def _has_zh_content(text: str, start: int, end: int) -> bool:
    """Whether _tokenize_zh would give text[start:end], a stretch without hashtags, a token
    that is not filler, without cutting it: jieba drops no character but spaces, every
    placeholder is a word, and a filler token is one with no word character, '#' or '@'
    (links become URL first). It was half the cost of labelling a post; tests/test_text.py
    compares the two."""
    return _CONTENT_CHAR_RE.search(text, start, end) is not None


def _split_labels_zh(text: str) -> LabelledText:
    matches = list(_WEIBO_TAG_RE.finditer(text))
    spans: list[tuple[int, int]] = []
    tags: list[list[str]] = []
    # The text before a tag is the gaps between the tags before it (finditer resumes at each
    # tag's end, so a fragment's own tags are these); gap by gap, not fragment by fragment,
    # which cost the square of the tags (12 s for a post with 10,000).
    bounds = [0, *(i for m in matches for i in (m.start(), m.end())), len(text)]
    gaps = [_has_zh_content(text, bounds[i], bounds[i + 1]) for i in range(0, len(bounds), 2)]
    before = list(accumulate(gaps, operator.or_))
    after = list(accumulate(reversed(gaps), operator.or_))[::-1]
    for i, m in enumerate(matches):
        if not before[i] or not after[i + 1]:
            spans.append((m.start(), m.end()))
            if len(tags) < LABELS_KEPT:
                tags.append(segment_hashtag(m.group(1), "zh"))
    body_parts, pos = [], 0
    for start, end in spans:
        body_parts.append(text[pos:start])
        pos = end
    body_parts.append(text[pos:])
    return LabelledText(tokens=tokenize(" ".join(body_parts), "zh"), hashtags=_dedupe_tags(tags))


class TextPreparation:
    """split_labels and tokenize as one object, so that a caller can be given a remembering one."""

    def split_labels(self, text: str, lang: str) -> LabelledText:
        return split_labels(text, lang)

    def tokenize(self, text: str, lang: str) -> list[str]:
        return tokenize(text, lang)


class TextMemo(TextPreparation):
    """The same results, each text's kept for its last `size` distinct texts: an inference
    worker prepares a post at every request that names it and again when the live index
    learns it, and jieba was a quarter of its time. Callers get copies, so
    nothing they do changes what is kept."""

    def __init__(self, size: int) -> None:
        self._labels = lru_cache(maxsize=size)(split_labels)
        self._tokens = lru_cache(maxsize=size)(tokenize)

    def split_labels(self, text: str, lang: str) -> LabelledText:
        kept = self._labels(text, lang)
        return LabelledText(list(kept.tokens), [list(tag) for tag in kept.hashtags])

    def tokenize(self, text: str, lang: str) -> list[str]:
        return list(self._tokens(text, lang))


PLAIN_TEXT = TextPreparation()
