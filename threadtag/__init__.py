"""threadtag: hashtags for microblog threads, generated from the post and its conversation."""

__version__ = "0.1.0"
