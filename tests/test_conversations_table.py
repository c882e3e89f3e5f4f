"""The conversations table is the one source of the bookkeeping's columns."""

from __future__ import annotations

from dataclasses import fields

from threadtag.pipeline import conversations_table
from threadtag.pipeline.conversations import Conversation
from threadtag.schemas.tables import ConversationRow


def test_the_conversation_dataclass_holds_the_tables_columns_but_the_derived_one():
    columns = [c.name for c in ConversationRow.__table__.columns]
    assert [f.name for f in fields(Conversation)] + ["next_due_at"] == columns
    assert list(conversations_table._TYPES) == columns


def test_timestamps_of_the_table_are_epoch_seconds_in_the_dataclass():
    kinds = {f.name: str(f.type) for f in fields(Conversation)}
    assert conversations_table._TIMES == {"requested_at", "last_change_at", "growth_due_at", "closed_at"}
    assert all(kinds[name].startswith("float") for name in conversations_table._TIMES)
    assert (
        conversations_table._TYPES["root_id"] == "TEXT"
        and conversations_table._TYPES["closed_at"] == "TIMESTAMP WITH TIME ZONE"
    )
