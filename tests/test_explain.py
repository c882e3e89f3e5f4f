"""`explain`: the bi-attention heatmap of the paper's Figure 4."""

from __future__ import annotations

import pytest
from PIL import Image

from threadtag.app import recipes
from threadtag.core.settings import Settings
from threadtag.models.corpus import Example, thread_example
from threadtag.models.explain import _font, draw_heatmap, explain

PNG = b"\x89PNG\r\n\x1a\n"


def test_heatmap_is_a_png_with_one_row_per_post_word(sample_model, tmp_path):
    predictor = recipes.generator_predictor(recipes.load_checkpoint(sample_model, Settings()), Settings())
    example = thread_example("The umpire said nothing again #AusOpen", ["Nadal was quiet", "what a match"], "en")
    explanation = explain(predictor, example)
    assert explanation.post == ["the", "umpire", "said", "nothing", "again"]
    assert len(explanation.weights) == 5 and all(len(row) == len(explanation.conv) for row in explanation.weights)
    assert all(sum(row) == pytest.approx(1.0, abs=1e-5) for row in explanation.weights)
    assert len(explanation.hashtags) == 5
    path = draw_heatmap(explanation, tmp_path / "heat.png")
    assert path.read_bytes().startswith(PNG)
    with Image.open(path) as image:
        image.verify()


def test_variants_without_bi_attention_are_refused(tmp_path):
    settings = Settings(embed_dim=8, hidden_size=8, encoder_layers=1, train_max_epochs=1)
    examples = [Example(["a", "b"], ["c"], [["t"]], "en")] * 4
    checkpoint = recipes.fit(settings, examples[:3], examples[3:], variant="seq2seq_post", progress=False)
    with pytest.raises(ValueError, match="no bi-attention"):
        explain(recipes.generator_predictor(checkpoint, settings), examples[0])


@pytest.mark.integration  # fontconfig as a process
def test_chinese_words_get_a_cjk_font_when_one_is_installed():
    font = _font(["微博", "话题"], None)
    if font is None:
        pytest.skip("no CJK font installed here (Debian: fonts-wqy-microhei); the heatmap would show boxes")
    from matplotlib.ft2font import FT2Font

    face = FT2Font(font.get_file())
    assert all(face.get_char_index(ord(ch)) for ch in "微博话题")
