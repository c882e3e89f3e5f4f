"""Where the tests find the checkout, the shared data and a PostgreSQL server: the local one
where it answers, else an embedded one started for them (as the project itself falls back),
so that no test skips for want of a server."""

from __future__ import annotations

from pathlib import Path

from threadtag.core.database import server_url
from threadtag.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOCAL_DB = server_url(Settings())
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE_THREADS = ROOT / "samples" / "threads.jsonl"
