"""Why the model picks a hashtag: its bi-attention between post and conversation as a heatmap
(the paper's Figure 4: rows post words, columns conversation words, alpha^c of eq. 3)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import structlog
import torch

from threadtag.models.batching import input_tensors
from threadtag.models.corpus import Example
from threadtag.models.predictor import HashtagPredictor, RankedHashtag
from threadtag.models.text import has_cjk

log = structlog.get_logger(__name__)

# File names of fonts with CJK glyphs (Debian: fonts-wqy-microhei, fonts-noto-cjk; the usual
# Windows and macOS ones), matched lower-case without dashes.
CJK_FONT_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehan", "simhei", "msyh", "pingfang", "droidsansfallback")


@dataclass
class Explanation:
    post: list[str]
    conv: list[str]
    weights: list[list[float]]  # [post word][conversation word], rows sum to 1
    hashtags: list[RankedHashtag]


def explain(predictor: HashtagPredictor, example: Example) -> Explanation:
    checkpoint = predictor.checkpoint
    if not checkpoint.model.config.uses_bi_attention:
        raise ValueError(f"variant {checkpoint.model.config.variant!r} has no bi-attention to show")
    limits, vocab = checkpoint.limits, checkpoint.vocab
    with torch.inference_mode():
        encoded = checkpoint.model.encode(*input_tensors([example], vocab, limits, predictor.device))
    assert encoded.bi_attention is not None
    # Empty sides are encoded as </s> (see encode_input): label them so.
    post = example.post[: limits.post_max_len] or ["</s>"]
    conv = example.conv[: limits.conv_max_len] or ["</s>"]
    weights = encoded.bi_attention[0, : len(post), : len(conv)].cpu().tolist()
    return Explanation(post, conv, weights, predictor.predict_examples([example])[0])


def _font(words: list[str], font_file: Path | None):  # type: ignore[no-untyped-def]
    """Font properties able to draw `words`; None = matplotlib's default."""
    from matplotlib import font_manager

    if font_file is not None:
        return font_manager.FontProperties(fname=str(font_file))
    if not any(has_cjk(w) for w in words):
        return None
    found = find_cjk_font()
    if found:
        return font_manager.FontProperties(fname=found)
    log.warning("no CJK font found: Chinese words will show as boxes; set EXPLAIN_FONT", looked_for=CJK_FONT_FILES)
    return None


def find_cjk_font() -> str | None:
    """An installed font file with CJK glyphs, or None."""
    from matplotlib import font_manager

    # The system's font files, not matplotlib's cache: a font installed later is found too.
    for file in sorted(font_manager.findSystemFonts()):
        if any(hint in Path(file).name.lower().replace("-", "") for hint in CJK_FONT_FILES):
            return str(file)
    return None


def draw_heatmap(explanation: Explanation, path: Path, font_file: Path | None = None) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only, no screen
    import matplotlib.pyplot as plt

    font = _font(explanation.post + explanation.conv, font_file)
    rows, cols = len(explanation.post), len(explanation.conv)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.32 * cols + 2), max(3.0, 0.32 * rows + 1.8)))
    image = ax.imshow(explanation.weights, cmap="Blues", aspect="auto", vmin=0.0)
    ax.set_xticks(range(cols))
    ax.set_xticklabels(explanation.conv, rotation=90, fontproperties=font)
    ax.set_yticks(range(rows))
    ax.set_yticklabels(explanation.post, fontproperties=font)
    ax.set_xlabel("conversation")
    ax.set_ylabel("post")
    top = explanation.hashtags[0].tag if explanation.hashtags else "-"
    ax.set_title(f"bi-attention (post -> conversation); top hashtag: {top}", fontproperties=font)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
