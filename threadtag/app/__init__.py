"""Composition roots: each module assembles one process (or one command's work) from the
layers below it. The command line (threadtag.cli) parses arguments and calls in here."""
