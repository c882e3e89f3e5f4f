import random

from threadtag.models.text import DIGIT, MENTION, URL, detect_lang, segment_hashtag, split_labels, tokenize


def test_english_tokens_are_lowercased_with_placeholders():
    tokens = tokenize("Check THIS @alice http://t.co/abc 2024 now!", "en")
    assert tokens == ["check", "this", MENTION, URL, DIGIT, "now", "!"]


def test_edge_hashtags_become_labels_and_middle_ones_stay_as_words():
    labelled = split_labels("#AusOpen Azarenka is loud #tennis fans agree #bbcTennis #great http://t.co/x", "en")
    assert labelled.hashtags == [["aus", "open"], ["bbc", "tennis"], ["great"]]
    assert labelled.tokens == ["azarenka", "is", "loud", "tennis", "fans", "agree", URL]


def test_single_character_hashtags_are_dropped():
    assert split_labels("nice day #a", "en").hashtags == []
    assert split_labels("今天 天气 好 #晴#", "zh").hashtags == []


def test_hashtag_segmentation_english():
    assert segment_hashtag("#AusOpen", "en") == ["aus", "open"]
    assert segment_hashtag("#JeSuisCharlie", "en") == ["je", "suis", "charlie"]
    assert segment_hashtag("#charliehebdo", "en") == ["charlie", "hebdo"]
    assert segment_hashtag("#jan25", "en") == ["jan", "25"]


def test_weibo_topics_segmented_by_jieba_and_placed_by_position():
    labelled = split_labels("#马航飞机失联# 祈祷 平安 #中间话题# 的 消息 #加油#", "zh")
    assert labelled.hashtags == [["马航", "飞机", "失联"], ["加油"]]
    assert "中间" in labelled.tokens and "#" not in "".join(labelled.tokens)


def test_chinese_placeholders():
    tokens = tokenize("@小明 看 http://t.cn/x 有3个人", "zh")
    assert tokens[:4] == [MENTION, "看", URL, "有"] and DIGIT in tokens


def test_detect_lang():
    assert detect_lang("今天天气很好 ok") == "zh"
    assert detect_lang("what a match") == "en"


def test_hashtags_are_shown_as_their_users_write_them():
    from threadtag.models.text import display_hashtag, segment_hashtag

    assert display_hashtag("马航 飞机 失联") == "#马航飞机失联#"
    assert display_hashtag("aus open") == "#AusOpen"
    assert segment_hashtag(display_hashtag("aus open"), "en") == ["aus", "open"]


def test_the_weibo_files_placeholders_stay_placeholders_in_raw_chinese_text():
    from threadtag.models.text import tokenize

    assert tokenize("看这个URL吧MENTION说了DIGIT次", "zh") == [
        "看",
        "这个",
        "URL",
        "吧",
        "MENTION",
        "说",
        "了",
        "DIGIT",
        "次",
    ]
    assert tokenize("访问 HTTP://t.cn/abc 和 www.weibo.com", "zh") == ["访问", "URL", "和", "URL"]


def test_the_quick_edge_check_agrees_with_cutting_each_side_of_a_tag():
    """Edge hashtags of a Weibo post against their definition: a tag with no token that is
    not filler on one side of it (other hashtags do not count), found by cutting each side."""
    from threadtag.models.text import _WEIBO_TAG_RE, _dedupe_tags, _is_filler, _tokenize_zh, segment_hashtag

    def has_content(fragment: str) -> bool:
        return any(not _is_filler(t) for t in _tokenize_zh(_WEIBO_TAG_RE.sub(" ", fragment)))

    def edge_tags(text: str) -> list[list[str]]:
        found = [
            m
            for m in _WEIBO_TAG_RE.finditer(text)
            if not has_content(text[: m.start()]) or not has_content(text[m.end() :])
        ]
        return _dedupe_tags([segment_hashtag(m.group(1), "zh") for m in found])

    pieces = [*"#@ .,!?:/_-+%&1２Ａａ中文，。！？😀\t\n", "www.", "http://", "https://x.cn", "#话题#", "#天气#"]
    pieces += ["URL", "İ"]
    rng = random.Random(7)
    texts = ["", " ", "#话题#", "。。", "😀 ，", "@", "www.", "http:// ", "https://t.cn/x", "DIGIT", "_", "#a# #b#"]
    texts += ["#a#b#c# 中文 #天气#", "#话题# 。 #天气#"]
    texts += ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))) for _ in range(2_000)]
    assert [split_labels(t, "zh").hashtags for t in texts] == [edge_tags(t) for t in texts]


def test_a_post_keeps_at_most_LABELS_KEPT_edge_hashtags_and_loses_them_all_from_its_text():
    from threadtag.models.text import LABELS_KEPT

    many = LABELS_KEPT + 8
    english = split_labels("rivers in spring " + " ".join(f"#salmon{i}" for i in range(many)), "en")
    chinese = split_labels("春天的河" + "".join(f"#河流{i}#" for i in range(many)), "zh")
    for labelled in (english, chinese):
        assert len(labelled.hashtags) == LABELS_KEPT
        assert not any("salmon" in t or "河流" in t for t in labelled.tokens)
