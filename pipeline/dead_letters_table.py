"""The `dead_letters` table: records the stream could not use, with the reason, kept beside
the dead-letter topic so that SQL can read them. Runs inside the caller's transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.dialects.postgresql import insert

from threadtag.schemas.events import DeadLetter
from threadtag.schemas.tables import DeadLetterRow


def letter(raw: dict[str, Any], reason: str, source: str, now: float, max_payload: int) -> DeadLetter:
    """The dead letter of a stored post (its raw JSON) leaving for `reason`."""
    payload = json.dumps(raw, ensure_ascii=False).encode()
    return DeadLetter.of(reason, payload, source, datetime.fromtimestamp(now, tz=timezone.utc), max_payload)


def insert_dead_letters(conn: Connection, letters: Sequence[DeadLetter]) -> None:
    if not letters:
        return
    rows = [
        {
            "source": f"{d.source_topic}/{d.partition}/{d.offset}" if d.offset is not None else d.source_topic,
            "reason": d.reason,
            "payload": d.payload(),
        }
        for d in letters
    ]
    conn.execute(insert(DeadLetterRow), rows)
