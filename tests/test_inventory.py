"""The hashtag inventory: tag lines, hashtags spelled out by a post, and counts as a query may
see them (only posts stored before it, never its own)."""

from __future__ import annotations

from threadtag.models.inventory import HashtagInventory


def test_tag_lines_count_each_hashtag(tmp_path):
    lines = tmp_path / "tags.txt"
    lines.write_text("马航 飞机 失联;吴亦凡\n吴亦凡\n\n", encoding="utf-8")
    inventory = HashtagInventory()
    inventory.add_tag_lines(lines)
    assert inventory.counts == {"马航 飞机 失联": 1, "吴亦凡": 2}


def test_spelled_out_needs_every_word_of_the_hashtag():
    inventory = HashtagInventory()
    inventory.add(["aus open", "open", "world cup"])
    assert inventory.spelled_out("the aus open final".split()) == ["aus open", "open"]
    assert inventory.spelled_out("the world".split()) == []


def test_a_query_counts_only_earlier_posts_and_never_its_own():
    inventory = HashtagInventory()
    inventory.add(["aus open"])  # a tag line: always counted
    inventory.learn("p1", ["aus open"], 10.0)
    inventory.learn("p2", ["aus open", "tennis"], 20.0)
    inventory.learn("p2", ["aus open", "tennis"], 20.0)  # indexed again: counted once
    assert inventory.count("aus open") == 3
    assert inventory.count("aus open", before=20.0) == 2  # p2 came at the request's moment
    assert inventory.count("aus open", before=30.0, exclude="p2") == 2
    assert inventory.count("tennis", before=30.0, exclude="p2") == 0
    assert inventory.count("tennis", before=15.0, exclude="p2") == 0  # excluded and later: not taken twice


def test_the_inventory_survives_a_round_trip_through_plain_data():
    inventory = HashtagInventory()
    inventory.add(["aus open", "aus open", "tennis"], 5.0)
    again = HashtagInventory.from_state(inventory.state())
    assert again.counts == inventory.counts and again.spelled_out(["aus", "open"]) == ["aus open"]
