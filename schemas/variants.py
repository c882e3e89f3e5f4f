"""The generator's variants (paper, Table 6): one list for the settings, the network and the CLI."""

from __future__ import annotations

from typing import Literal, get_args

Variant = Literal["full", "post_att", "conv_att", "seq2seq_post", "seq2seq_conv", "seq2seq_concat", "seq2seq_copy"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
