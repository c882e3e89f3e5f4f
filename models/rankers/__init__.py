"""Hashtag rankers behind one interface: the paper's baselines and the generator (section 3)."""
