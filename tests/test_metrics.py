"""Each metric on cases computed by hand (values in the comments)."""

import pytest

from threadtag.models.metrics import _su_grams, average_precision, normalize_tag, rouge_1_f1, rouge_su_f1, score

PREDS = [["aus open", "tennis", "murray", "nadal", "bbc sport"], ["snow", "snow day", "winter"]]
GOLDS = [["aus open"], ["snow day", "blizzard"]]


def test_f1_at_k_is_micro_over_posts():
    s = score(PREDS, GOLDS, "en")
    # top-1: 1 correct of 2 slots, 3 gold tags -> P = 1/2, R = 1/3, F1 = 0.4
    assert s.precision_at_1 == pytest.approx(0.5)
    assert s.recall_at_1 == pytest.approx(1 / 3)
    assert s.f1_at_1 == pytest.approx(0.4)
    # top-5: 2 correct of 10 slots (short lists still count K slots) -> P = 0.2, R = 2/3
    assert s.precision_at_5 == pytest.approx(0.2)
    assert s.f1_at_5 == pytest.approx(2 * 0.2 * (2 / 3) / (0.2 + 2 / 3))


def test_map_divides_by_the_number_of_gold_tags():
    # post A: hit at rank 1 -> 1/1 = 1; post B: hit at rank 2 -> (1/2) / 2 gold = 0.25
    assert score(PREDS, GOLDS, "en").map_at_5 == pytest.approx(0.625)
    assert average_precision(["x", "a", "y", "b"], {"a", "b", "c"}, 5) == pytest.approx((1 / 2 + 2 / 4) / 3)


def test_rouge_uses_top1_averaged_over_gold_tags():
    s = score(PREDS, GOLDS, "en")
    # A: 1.0; B: "snow" vs "snow day" F1 = 2/3, vs "blizzard" 0 -> 1/3; mean 2/3
    assert s.rouge_1 == pytest.approx((1 + 1 / 3) / 2)
    # SU4 for B vs "snow day": units {snow} vs {snow, day, (snow, day)} -> P 1, R 1/3, F1 1/2
    assert s.rouge_su4 == pytest.approx((1 + 0.25) / 2)


def test_english_tags_compare_after_stemming():
    assert normalize_tag(" Running Shoes ", "en") == normalize_tag("run shoe", "en")
    assert score([["running shoes"]], [["run shoe"]], "en").f1_at_1 == pytest.approx(1.0)


def test_chinese_ignores_segmentation_and_scores_characters():
    assert score([["马航飞机"]], [["马航 飞机"]], "zh").f1_at_1 == pytest.approx(1.0)
    # 2 of 4 characters: P 1, R 1/2 -> F1 2/3
    assert score([["马航"]], [["马航 飞机"]], "zh").rouge_1 == pytest.approx(2 / 3)


def test_skip_bigrams_allow_at_most_four_words_between():
    grams = _su_grams(list("abcdefg"), max_gap=4)
    assert grams[("a", "f")] == 1  # 4 words between
    assert grams[("a", "g")] == 0  # 5 words between
    assert grams["a"] == 1  # unigrams are part of SU
    assert rouge_su_f1(["a", "b"], ["a", "b"]) == pytest.approx(1.0)
    assert rouge_1_f1(["a", "a"], ["a"]) == pytest.approx(2 * 0.5 * 1 / 1.5)  # clipped counts


def test_duplicate_predictions_count_once():
    assert score([["a b", "a b", "c"]], [["a b", "c"]], "en").precision_at_5 == pytest.approx(2 / 5)


def test_empty_prediction_scores_zero():
    s = score([[]], [["x"]], "en")
    assert s.f1_at_1 == 0 and s.rouge_1 == 0 and s.map_at_5 == 0


def test_rouge_units_are_characters_latin_words_and_no_punctuation():
    from threadtag.models.metrics import _units

    assert _units("iPhone6 发布会！", "zh") == ["iphone6", "发", "布", "会"]
    assert _units("aus-open!!", "en") == ["au", "open"]
    # "iPhone6 发布会" vs gold "iPhone6发布": 3 shared units of 4 and 3 -> F1 2*(3/4)(3/3)/(3/4+1) = 6/7
    assert score([["iPhone6 发布会"]], [["iPhone6发布"]], "zh").rouge_1 == pytest.approx(6 / 7)


def test_hits_and_f1_from_counts_agree_with_score():
    from threadtag.models.metrics import f1_of_counts, hits_at

    predictions = [["马航 飞机失联", "mh370", "x"], ["a", "b"]]
    golds = [["马航飞机 失联"], ["b", "c"]]
    # Chinese tags compare without the spaces of segmentation.
    assert [hits_at(p, g, 1, "zh") for p, g in zip(predictions, golds)] == [1, 0]
    assert [hits_at(p, g, 5, "zh") for p, g in zip(predictions, golds)] == [1, 1]
    scores = score(predictions, golds, "zh")
    assert f1_of_counts(1, 2, 3) == pytest.approx(scores.f1_at_1)
    assert f1_of_counts(2, 10, 3) == pytest.approx(scores.f1_at_5)
