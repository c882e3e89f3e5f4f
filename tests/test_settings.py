"""Settings: namespaced copies share a cluster without sharing topics or consumer groups."""

from __future__ import annotations

from threadtag.app import configs
from threadtag.core.settings import Settings
from threadtag.models.hybrid import HybridConfig, RerankerConfig
from threadtag.models.retrieval import RetrievalConfig


def test_a_namespaced_copy_has_topics_and_consumer_groups_of_its_own():
    base = Settings()
    one, two = base.namespaced("a"), base.namespaced("b")
    names = ("tweets_topic", "requests_topic", "dead_letter_topic", "stream_app_id", "infer_group_id")
    for name in names:
        assert getattr(one, name) == f"{getattr(base, name)}-a" != getattr(two, name)
    assert one.database_url == base.database_url


def test_a_variable_one_edit_from_ours_or_the_start_of_one_is_named_with_what_was_meant():
    from threadtag.core.settings import misspelled

    environ = {
        "KAFKA_BOOTSTRAP_SERVER": "kafka.prod:9092",
        "INFER_BATCH": "8",
        "DATABASE_URI": "x",
        "BEAM_SIZE": "8",
        "PATH": "/bin",
        "POSTGRES_PASSWORD": "x",
        "HOSTNAME": "h",
    }
    assert misspelled(environ) == {
        "KAFKA_BOOTSTRAP_SERVER": "KAFKA_BOOTSTRAP_SERVERS",
        "INFER_BATCH": "INFER_BATCH_SIZE",
        "DATABASE_URI": "DATABASE_URL",
    }


def test_top_k_cannot_exceed_the_beam():
    import pytest
    from pydantic import ValidationError

    from threadtag.core.settings import Settings

    with pytest.raises(ValidationError, match="TOP_K \\(30\\) must not exceed BEAM_SIZE \\(20\\)"):
        Settings(top_k=30, beam_size=20)


def test_progress_bars_only_on_a_terminal_and_never_under_json_logs(monkeypatch):
    import sys

    from threadtag.core.settings import Settings

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert Settings(log_format="console").progress_bars() and not Settings(log_format="console").progress_bars(False)
    assert not Settings(log_format="json").progress_bars()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    assert not Settings(log_format="console").progress_bars()


def test_the_model_configs_built_in_code_are_the_settings_defaults():
    """A model built from code (RetrievalConfig() and the like) is the one the CLI builds."""
    settings = Settings(_env_file=None)
    assert configs.retrieval_config(settings) == RetrievalConfig()
    assert configs.hybrid_config(settings) == HybridConfig()
    assert configs.reranker_config(settings) == RerankerConfig()
