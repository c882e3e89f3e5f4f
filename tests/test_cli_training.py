"""A tiny training, evaluation and prediction through the real CLI (seconds)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tests.helpers.paths import SAMPLE_THREADS
from threadtag.cli import app
from threadtag.core.settings import get_settings


def _invoke(*args: str):
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.slow
def test_train_evaluate_predict_on_sample_threads(tiny_settings, tmp_path):
    model = tmp_path / "sample.pt"
    out = _invoke("train", "--tweets", str(SAMPLE_THREADS), "--dev-last", "3", "--out", str(model), "--no-progress")
    assert "saved" in out and model.exists()
    assert "only 21 training examples (TRAIN_WARN_BELOW_EXAMPLES=500)" in out  # the sample is small
    assert "dev F1@1" in out and "the most frequent hashtags" in out

    table = _invoke(
        "evaluate",
        "--model",
        str(model),
        "--tweets",
        str(SAMPLE_THREADS),
        "--dev-last",
        "3",
        "--predictions",
        str(tmp_path),
        "--no-progress",
    )
    assert "| F1@1 |" in table.replace(" F1@1 ", "| F1@1 |") and "full (sample.pt)" in table
    assert "training data" not in table  # the dev posts were held out
    on_training = _invoke("evaluate", "--model", str(model), "--test", str(SAMPLE_THREADS), "--no-progress")
    assert "21 of 24 posts scored are in this model's training data" in on_training
    lines = (tmp_path / "sample.predictions.jsonl").read_text().splitlines()
    assert len(lines) == 3 and json.loads(lines[0])["predicted"]

    raw = _invoke(
        "predict",
        "--model",
        str(model),
        "--json",
        "--post",
        "Azarenka screams on every point, the umpire does nothing",
        "--reply",
        "Nadal was quiet by comparison",
        "--reply",
        "great tennis in Melbourne though",
    )
    payload = json.loads(raw.strip().splitlines()[-1])
    tags = [h["tag"] for h in payload["hashtags"]]
    assert len(tags) == 5 and len(set(tags)) == 5
    assert "aus open" in tags  # learnt from the three #AusOpen sample threads


def test_train_refuses_two_sources(tiny_settings, tmp_path):
    result = CliRunner().invoke(app, ["train", "--tweets", "x", "--weibo", "y", "--out", str(tmp_path / "m.pt")])
    assert result.exit_code != 0 and "exactly one" in result.output


def test_every_command_has_help():
    for command in ("train", "evaluate", "predict"):
        assert "Usage" in CliRunner().invoke(app, [command, "--help"]).output


@pytest.mark.parametrize("top_k", ["-3", "0", "99"])
def test_top_k_outside_the_beam_is_one_clear_error(sample_model, top_k):
    result = CliRunner().invoke(app, ["predict", "--model", str(sample_model), "--post", "hi", "--top-k", top_k])
    assert result.exit_code != 0 and "top-k must be between 1 and the beam size" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_version():
    from threadtag import __version__

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"threadtag {__version__}"


@pytest.mark.parametrize(("variable", "value"), [("INFER_BATCH_SIZE", "abc"), ("LOG_LEVEL", "verbose")])
def test_a_wrong_setting_is_one_line_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["evaluate", "--model", "x.pt", "--weibo", "."])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].lower().startswith(f"error: {variable}='{value}'".lower()), result.output


def test_doubtful_input_gets_a_warning_and_a_wrong_language_an_error(sample_model):
    runner = CliRunner()
    chinese = runner.invoke(app, ["predict", "--model", str(sample_model), "--post", "马航飞机失联了，大家一起祈祷"])
    assert chinese.exit_code == 0 and "the model was trained on en posts; this post is zh" in chinese.output
    empty = runner.invoke(app, ["predict", "--model", str(sample_model), "--post", "#AusOpen", "--reply", "tennis"])
    assert empty.exit_code == 0 and "the post has no words" in empty.output
    french = runner.invoke(app, ["predict", "--model", str(sample_model), "--post", "bonjour", "--lang", "fr"])
    assert french.exit_code != 0 and "--lang must be en or zh" in french.output


@pytest.mark.slow  # trains through the CLI
def test_a_model_built_from_code_is_the_one_the_cli_trains(tiny_settings, tmp_path):
    """One source for every default: the settings. ModelConfig and TrainConfig have none of
    their own, so a model built from code with the settings is the CLI's, weight for weight."""
    from dataclasses import asdict

    from threadtag.app import configs
    from threadtag.models.checkpoint import Checkpoint
    from threadtag.models.network import HashtagGenerator, ModelConfig

    model = tmp_path / "m.pt"
    _invoke("train", "--tweets", str(SAMPLE_THREADS), "--dev-last", "3", "--out", str(model), "--no-progress")
    trained = Checkpoint.load(model)
    settings = get_settings()
    vocab = trained.vocab
    config = ModelConfig(
        vocab_size=len(vocab),
        pad_id=vocab.pad_id,
        output_size=trained.model.config.output_size,
        **configs.model_config(settings),
    )  # type: ignore[arg-type]
    assert config == trained.model.config
    built = HashtagGenerator(config).state_dict()
    assert {k: v.shape for k, v in built.items()} == {k: v.shape for k, v in trained.model.state_dict().items()}
    assert trained.training["config"] == asdict(configs.train_config(settings))
    with pytest.raises(TypeError):  # no defaults of its own to drift from the settings
        ModelConfig(vocab_size=len(vocab), pad_id=vocab.pad_id)  # type: ignore[call-arg]
