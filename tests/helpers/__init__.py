"""What several test modules share: paths, small models, stream tools, hostile records, a TCP proxy."""
