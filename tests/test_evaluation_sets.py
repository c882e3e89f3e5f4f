"""Splits, the authors' file layout, a separate test set and seed/fold runs through the CLI."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.helpers.weibo_files import write_weibo
from threadtag.app.validation import IN_NEITHER, NOT_IN_TRAINING, RunResult, Split, _unseen_table
from threadtag.cli import app
from threadtag.models.corpus import CorpusError, load_weibo, weibo_layout
from threadtag.models.splits import kfold, tail_split


def test_kfold_holds_each_example_out_exactly_once():
    items = list(range(23))
    held = []
    for fold in range(5):
        train, dev = kfold(items, 5, fold)
        assert sorted(train + dev) == items and not set(train) & set(dev)
        held.append(dev)
    assert sorted(x for part in held for x in part) == items
    assert {len(part) for part in held} <= {4, 5}
    assert tail_split(items, 3) == (items[:20], items[20:])
    with pytest.raises(ValueError):
        kfold(items, 1, 0)


def test_the_authors_layout_is_read_directly(tmp_path):
    write_weibo(tmp_path, "train_", 12, 0)
    write_weibo(tmp_path, "valid_", 4, 1)
    assert weibo_layout(tmp_path) == "authors"
    assert len(load_weibo(tmp_path, split="train")) == 12 and len(load_weibo(tmp_path, split="valid")) == 4
    with pytest.raises(CorpusError, match="neither"):
        weibo_layout(tmp_path / "missing")


@pytest.mark.slow
def test_train_on_the_authors_layout_then_score_a_separate_test_set(tiny_settings, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TRAIN_MAX_EPOCHS", "3")
    data = tmp_path / "weibo"
    write_weibo(data, "train_", 60, 0)
    write_weibo(data, "valid_", 8, 1)
    write_weibo(data, "test_", 10, 2)
    model = tmp_path / "m.pt"
    runner = CliRunner()
    trained = runner.invoke(app, ["train", "--weibo", str(data), "--out", str(model), "--no-progress"])
    assert trained.exit_code == 0, trained.output
    scored = runner.invoke(app, ["evaluate", "--model", str(model), "--test", str(data), "--no-progress"])
    assert scored.exit_code == 0, scored.output
    assert "| hybrid full (m.pt) | 10 |" in scored.output  # the 10 test posts, not the 8 dev posts
    both = runner.invoke(app, ["evaluate", "--model", str(model), "--test", str(data), "--weibo", str(data)])
    assert both.exit_code != 0 and "--test replaces the dev split" in both.output


@pytest.mark.slow
def test_crossval_trains_each_fold_and_reports_the_gap(tiny_settings, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("TRAIN_MAX_EPOCHS", "2")
    write_weibo(tmp_path, "", 40, 0)
    result = CliRunner().invoke(app, ["crossval", "--weibo", str(tmp_path), "--folds", "2", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert "fold 1/2" in result.output and "fold 2/2" in result.output
    assert "full − seq2seq_post F1@1" in result.output
    assert result.output.count("| settings | full | fold") == 2
    assert result.output.count("| settings | seq2seq_post | fold") == 2
    # The retrieval baseline and the hybrid path around the full model, on the same folds.
    assert result.output.count("| settings | retrieval | fold") == 2
    assert result.output.count("| settings | hybrid | fold") == 2
    assert "hybrid − retrieval F1@1" in result.output
    # Retrieval reads character n-grams by default: the word TF-IDF vote is the fixed reference beside it.
    assert result.output.count("| settings | retrieval_words | fold") == 2
    assert "hybrid − retrieval_words F1@1" in result.output
    # The ablation: the same hybrid with no generator candidate and no beam search.
    assert result.output.count("| settings | hybrid_no_generator | fold") == 2
    assert "hybrid − hybrid_no_generator F1@1" in result.output
    # What only a generator can answer: the posts whose hashtags nobody had written, per model.
    assert "F1@1, in neither training nor inventory" in result.output


def test_the_unseen_hashtags_table_pools_the_runs_by_their_posts():
    def run(variant: str, fold: int, unseen: dict[str, tuple[int, float, float]]) -> RunResult:
        split = Split(13, fold, 2)
        return RunResult("c", variant, split, {}, 0, 0, 0, 0.0, 0.0, 0.0, unseen)

    second = {NOT_IN_TRAINING: (30, 40.0, 60.0), IN_NEITHER: (0, 0.0, 0.0)}
    groups = {("c", "full"): [run("full", 0, {**second, NOT_IN_TRAINING: (10, 20.0, 50.0)}), run("full", 1, second)]}
    header, [row] = _unseen_table(groups)
    assert header[2:5] == [f"posts, {NOT_IN_TRAINING}", f"F1@1, {NOT_IN_TRAINING}", f"RG-1, {NOT_IN_TRAINING}"]
    # (10 * 20 + 30 * 40) / 40 = 35 and (10 * 50 + 30 * 60) / 40 = 57.5; no post in the other subset: 0.
    assert row == ["c", "full", 40, "35.00", "57.50", 0, "0.00", "0.00"]
