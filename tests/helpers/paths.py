"""Where the tests find the checkout, the shared data and the local PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from threadtag.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
LOCAL_DB = Settings().local_database_url
SHARED_DATA = ROOT.parent / "shared" / "data"
SAMPLE_THREADS = ROOT / "samples" / "threads.jsonl"
