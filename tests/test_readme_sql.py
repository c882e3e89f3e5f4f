"""The SQL of the README and the docs runs against the schema as migrated, on rows as the
stream writes them."""

from __future__ import annotations

import re

from sqlalchemy import create_engine, text

from tests.helpers.paths import ROOT, SAMPLE_THREADS
from tests.helpers.streaming import store_posts
from threadtag.app.schema import migrate
from threadtag.models.corpus import read_tweets

PAGES = ["README.md", "docs/model.md", "docs/operations.md"]


def readme_queries() -> list[str]:
    """The statements of the sql blocks of PAGES, in that order, comment lines left out."""
    blocks = [b for page in PAGES for b in re.findall(r"```sql\n(.*?)```", (ROOT / page).read_text(), flags=re.S)]
    code = "\n".join(line for block in blocks for line in block.splitlines() if not line.lstrip().startswith("--"))
    return [query.strip() for query in code.split(";") if query.strip()]


def test_every_readme_query_runs_and_finds_the_sample(database_url):
    migrate(database_url)
    engine = create_engine(database_url)
    store_posts(engine, read_tweets(SAMPLE_THREADS))
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO model_versions (version, path, active) VALUES ('m', 'm.pt', true)"))
        conn.execute(
            text(
                "INSERT INTO annotations (root_id, request_seq, model_version, n_replies, hashtags, gold_tags,"
                " hits_at_1, hits_at_5) "
                'SELECT id, 1, \'m\', 3, \'[{"tag": "aus open", "score": -0.5}]\', \'["aus open"]\', 1, 1 '
                "FROM posts WHERE id = root_id"
            )
        )
    queries = readme_queries()
    assert len(queries) == 5
    with engine.connect() as conn:
        results = [conn.execute(text(query)).all() for query in queries]
    engine.dispose()
    top, tagged, one_post, quality, _ = results
    assert top == [("aus open", 24)] and len(tagged) == 24
    # 24 labelled roots, each hit at 1: F1@1 = 2 * 24 / (24 + 24), F1@5 = 2 * 24 / (5 * 24 + 24).
    assert [tuple(row) for row in quality] == [("m", 24, 24, 24, 1, round(48 / 144, 4))]
    assert len(one_post) == 1 and len(one_post[0].replies) == 3
