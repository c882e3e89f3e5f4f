"""Which root each post belongs to, following reply links: one resolver for the stream (a
batch's chains in memory, with one lookup of the parents already stored) and for threads
assembled from files (models/corpus.py), so both build the same conversations."""

from __future__ import annotations

from collections.abc import Mapping

from threadtag.schemas.posts import Post


def resolve_roots(posts: list[Post], stored_roots: Mapping[str, str | None]) -> dict[str, str | None]:
    """Post id -> its root id, or None where the root is not known yet (the post parks).

    `stored_roots`: id -> root_id of the parents already in the database (None: parked there
    too). A root is its own root; Twitter v2 names the root up front; any other reply takes
    its parent's root, the parent found in this batch or in `stored_roots`. A reply cycle
    (hostile input) resolves to None and ends as orphans."""
    by_id = {post.id: post for post in posts}
    roots: dict[str, str | None] = {}

    def root_of(post_id: str) -> str | None:
        chain: list[str] = []
        seen: set[str] = set()
        current: str | None = post_id
        root: str | None = None
        while current is not None:
            if current in roots:
                root = roots[current]
                break
            post = by_id.get(current)
            if post is None:
                root = stored_roots.get(current)
                break
            if current in seen:
                root = None  # a cycle
                break
            seen.add(current)
            chain.append(current)
            if post.parent_id is None:
                root = post.id
                break
            if post.root_id is not None and post.root_id != post.id:
                root = post.root_id
                break
            current = post.parent_id
        for member in chain:
            roots[member] = root
        return root

    for post in posts:
        root_of(post.id)
    return roots
