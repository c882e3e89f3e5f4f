"""Settings: namespaced copies share a cluster without sharing topics or consumer groups."""

from __future__ import annotations

from threadtag.core.settings import Settings


def test_a_namespaced_copy_has_topics_and_consumer_groups_of_its_own():
    base = Settings()
    one, two = base.namespaced("a"), base.namespaced("b")
    names = ("tweets_topic", "requests_topic", "dead_letter_topic", "stream_app_id", "infer_group_id")
    for name in names:
        assert getattr(one, name) == f"{getattr(base, name)}-a" != getattr(two, name)
    assert one.database_url == base.database_url
