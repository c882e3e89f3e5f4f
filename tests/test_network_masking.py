"""Padding must not change any output: a post scored alone equals the same post in a padded batch."""

import pytest
import torch

from tests.helpers.models import tiny_model
from threadtag.models.beam_search import SpecialIds, beam_search
from threadtag.models.network import concat_padded, length_mask, masked_softmax
from threadtag.schemas.variants import VARIANTS

PAD = 1
SPECIALS = SpecialIds(bos=2, eos=3, never=(0, 1, 2))


def _pad(rows: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.full((len(rows), int(lengths.max())), PAD)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out, lengths


POSTS = [[4, 5, 6], [7, 8, 9, 10, 11, 4, 5]]
CONVS = [[8, 9, 10, 11, 4, 5, 6, 7, 8], [6, 7]]
TAGS_IN = [[2, 4, 5], [2, 6]]
TAGS_OUT = [[4, 5, 3], [6, 3]]


def test_masked_softmax_gives_padding_zero_weight():
    scores = torch.tensor([[1.0, 2.0, 50.0]])
    weights = masked_softmax(scores, torch.tensor([[True, True, False]]))
    assert weights[0, 2] == 0
    assert torch.allclose(weights[0, :2], torch.softmax(torch.tensor([1.0, 2.0]), 0))


def test_concat_padded_matches_a_loop():
    a, a_len = _pad(POSTS)
    b, b_len = _pad(CONVS)
    joined, total = concat_padded(a, a_len, b, b_len, PAD)
    for row in range(2):
        expected = POSTS[row] + CONVS[row]
        assert joined[row, : total[row]].tolist() == expected
        assert (joined[row, total[row] :] == PAD).all()
    assert length_mask(total, joined.size(1)).sum().item() == sum(map(len, POSTS + CONVS))


@pytest.mark.parametrize("variant", VARIANTS)
def test_padding_does_not_change_loss_or_memory(variant):
    model = tiny_model(variant)
    post, post_len = _pad(POSTS)
    conv, conv_len = _pad(CONVS)
    t_in, _ = _pad(TAGS_IN)
    t_out, _ = _pad(TAGS_OUT)
    # The copy variant also reads the post in extended ids: word 11 stands for one outside the vocabulary (12).
    extended = [[12 if w == 11 else w for w in row] for row in POSTS]
    copy = _pad(extended)[0] if model.config.copies else None
    with torch.no_grad():
        batched = model.sequence_nll(post, post_len, conv, conv_len, t_in, t_out, copy)
        enc = model.encode(post, post_len, conv, conv_len, copy)
        for row in range(2):
            p, pl = _pad([POSTS[row]])
            c, cl = _pad([CONVS[row]])
            ti, _ = _pad([TAGS_IN[row]])
            to, _ = _pad([TAGS_OUT[row]])
            single_copy = _pad([extended[row]])[0] if model.config.copies else None
            alone = model.sequence_nll(p, pl, c, cl, ti, to, single_copy)
            assert torch.allclose(batched[row], alone[0], atol=1e-5)
            single = model.encode(p, pl, c, cl, single_copy)
            real = single.memory_mask[0]
            assert torch.allclose(enc.memory[row][enc.memory_mask[row]], single.memory[0][real], atol=1e-5)
            assert torch.allclose(enc.init_state[row], single.init_state[0], atol=1e-5)


def test_extra_padding_columns_change_nothing():
    model = tiny_model("full")
    post, post_len = _pad(POSTS)
    conv, conv_len = _pad(CONVS)
    wider_post = torch.cat([post, torch.full((2, 5), PAD)], dim=1)
    wider_conv = torch.cat([conv, torch.full((2, 3), PAD)], dim=1)
    with torch.no_grad():
        a = model.encode(post, post_len, conv, conv_len)
        b = model.encode(wider_post, post_len, wider_conv, conv_len)
    assert torch.allclose(a.memory[a.memory_mask], b.memory[b.memory_mask], atol=1e-6)


def test_beam_search_of_a_post_does_not_depend_on_its_batch():
    model = tiny_model("full")
    post, post_len = _pad(POSTS)
    conv, conv_len = _pad(CONVS)
    together = beam_search(model, (post, post_len, conv, conv_len), SPECIALS, beam_size=6, max_len=3, n_best=4)
    for row in range(2):
        p, pl = _pad([POSTS[row]])
        c, cl = _pad([CONVS[row]])
        [alone] = beam_search(model, (p, pl, c, cl), SPECIALS, beam_size=6, max_len=3, n_best=4)
        assert [h.tokens for h in alone] == [h.tokens for h in together[row]]
        assert [h.score for h in alone] == pytest.approx([h.score for h in together[row]], abs=1e-5)
