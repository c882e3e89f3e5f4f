"""The network against a direct, per-example implementation of the paper's equations 3-10.

The reference below loops over positions with scalars and vectors of one unpadded example,
using the module's own weights; the module computes the same on a padded batch with
matrices and masks. A softmax over the wrong axis, a missing mask, swapped post and
conversation sides or a wrong memory make the two disagree. Checked by breaking the module
on purpose: eq. 3 normalised over the post axis fails all 16 cases that read r^c (full,
post_att) and the output-size test; the merge fed the wrong side's attention fails 17;
the decoder attention without its memory mask fails 27 of 28."""

from __future__ import annotations

import math

import pytest
import torch
from torch import Tensor

from threadtag.models.network import HashtagGenerator, ModelConfig

PAD, UNK = 1, 0
POSTS = [[4, 5, 6, 7], [8, 9], [5, 10, 11, 4, 6]]
CONVS = [[9, 9, 10, 4, 12, 13], [11, 4, 5], [6]]
TAGS = [[5, 6], [13], [7, 8, 9]]
BOS, EOS = 2, 3


def _softmax(values: list[float]) -> list[float]:
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    return [e / sum(exps) for e in exps]


def _weighted(weights: list[float], vectors: list[Tensor]) -> Tensor:
    return sum((w * v for w, v in zip(weights, vectors)), torch.zeros_like(vectors[0]))


def _encode(model: HashtagGenerator, encoder, ids: list[int]) -> tuple[list[Tensor], Tensor]:  # type: ignore[no-untyped-def]
    states, final = encoder.gru(model.embedding.weight[torch.tensor(ids)][None])
    return list(states[0]), torch.cat([final[-2, 0], final[-1, 0]])


def reference(model: HashtagGenerator, post: list[int], conv: list[int], tag: list[int]) -> tuple[list[Tensor], float]:
    """(memory vectors, NLL of `tag` followed by </s>) for one example, equation by equation."""
    cfg = model.config
    h_p, final_p = _encode(model, model.post_encoder, post)
    if cfg.variant == "seq2seq_post":
        memory, init_from = h_p, final_p
    else:
        h_c, final_c = _encode(model, model.conv_encoder, conv)
        bilinear = model.bi_attention.bilinear

        def f(hp: Tensor, hc: Tensor) -> float:  # eq. 3's score f(h_i^p, h_j^c)
            return float(hp @ (bilinear.weight @ hc if bilinear is not None else hc))

        # eq. 3: each post word attends over the conversation words (softmax over j)
        r_c = [_weighted(_softmax([f(hp, hc) for hc in h_c]), h_c) for hp in h_p]
        # eq. 4: each conversation word attends over the post words (softmax over i)
        r_p = [_weighted(_softmax([f(hp, hc) for hp in h_p]), h_p) for hc in h_c]
        # eqs. 5-6: merge layers
        post_merge, conv_merge = model.merge_post, model.merge_conv
        v_p = [torch.tanh(post_merge.weight @ torch.cat([h, r]) + post_merge.bias) for h, r in zip(h_p, r_c)]
        v_c = [torch.tanh(conv_merge.weight @ torch.cat([h, r]) + conv_merge.bias) for h, r in zip(h_c, r_p)]
        memory, init_from = {
            "full": (v_p + v_c, torch.cat([final_p, final_c])),
            "post_att": (v_p, final_p),
            "conv_att": (v_c, final_c),
        }[cfg.variant]
    s = torch.tanh(model.bridge.weight @ init_from + model.bridge.bias)
    fed = torch.zeros_like(s)
    nll = 0.0
    for previous, word in zip([BOS, *tag], [*tag, EOS]):
        x = model.embedding.weight[previous]
        if cfg.input_feeding:
            x = torch.cat([x, fed])
        _, last = model.decoder(x[None, None], s[None, None])  # eq. 7: s_t = GRU(y_{t-1}, s_{t-1})
        s = last[0, 0]
        # eqs. 8-9: attention of s_t over the memory, softmax over memory positions
        weights = _softmax([float((model.attention.weight @ s) @ v) for v in memory])
        c = _weighted(weights, memory)
        if cfg.input_feeding:
            fed = torch.tanh(model.attn_combine.weight @ torch.cat([c, s]))
            features = fed
        else:
            features = torch.cat([s, c])  # eq. 10: softmax(W_v [s_t; c_t] + b_v)
        logits = (model.output.weight @ features + model.output.bias).tolist()
        target = word if word < cfg.outputs else UNK
        nll -= math.log(_softmax(logits)[target])
    return memory, nll


def _pad(rows: list[list[int]]) -> tuple[Tensor, Tensor]:
    lengths = torch.tensor([len(r) for r in rows])
    out = torch.full((len(rows), int(lengths.max())), PAD)
    for i, r in enumerate(rows):
        out[i, : len(r)] = torch.tensor(r)
    return out, lengths


def _model(variant: str, score: str, feeding: bool, shared: bool, output_size: int = 0) -> HashtagGenerator:
    torch.manual_seed(7)
    config = ModelConfig(
        vocab_size=14,
        pad_id=PAD,
        embed_dim=6,
        hidden_size=8,
        encoder_layers=1,
        dropout=0.0,
        variant=variant,
        shared_encoder=shared,
        bi_attention_score=score,
        input_feeding=feeding,
        init_range=0.5,
        output_size=output_size,
    )
    return HashtagGenerator(config).eval().double()


CASES = [
    (variant, score, feeding, shared)
    for variant in ("full", "post_att", "conv_att")
    for score in ("bilinear", "dot")
    for feeding in (False, True)
    for shared in (False, True)
] + [("seq2seq_post", "bilinear", False, False), ("seq2seq_post", "bilinear", True, False)]


def _batch() -> tuple[Tensor, ...]:
    """(post, post_len, conv, conv_len, target_in, target_out) of the three examples, padded."""
    return (*_pad(POSTS), *_pad(CONVS), _pad([[BOS, *t] for t in TAGS])[0], _pad([[*t, EOS] for t in TAGS])[0])


@pytest.mark.parametrize(("variant", "score", "feeding", "shared"), CASES)
def test_batched_module_equals_per_example_equations(variant, score, feeding, shared):
    model = _model(variant, score, feeding, shared)
    batch = _batch()
    with torch.no_grad():
        nll = model.sequence_nll(*batch)
        enc = model.encode(*batch[:4])
        for row in range(len(POSTS)):
            memory, expected = reference(model, POSTS[row], CONVS[row], TAGS[row])
            real = enc.memory[row][enc.memory_mask[row]]
            assert real.shape[0] == len(memory)
            assert torch.allclose(real, torch.stack(memory), atol=1e-9)
            assert float(nll[row]) == pytest.approx(expected, rel=1e-9)


def test_output_layer_over_the_first_words_scores_later_words_as_unknown():
    """output_size 8: the targets 8, 9 and 13 are beyond the output layer and count as <unk>."""
    model = _model("full", "bilinear", True, True, output_size=8)
    assert model.output.out_features == 8
    with torch.no_grad():
        nll = model.sequence_nll(*_batch())
        for row in range(len(POSTS)):
            assert float(nll[row]) == pytest.approx(reference(model, POSTS[row], CONVS[row], TAGS[row])[1], rel=1e-9)


def test_post_att_and_conv_att_start_the_decoder_from_their_own_side():
    """The paper's decoder 'only takes v^p' (or v^c): the first state must not change when
    the other side's words change."""
    for variant, change_post in (("post_att", False), ("conv_att", True)):
        model = _model(variant, "bilinear", False, False)
        post, post_len = _pad([POSTS[0]])
        conv, conv_len = _pad([CONVS[0]])
        other = (post.flip(1), post_len) if change_post else (conv.flip(1), conv_len)
        with torch.no_grad():
            first = model.encode(post, post_len, conv, conv_len).init_state
            args = (*other, conv, conv_len) if change_post else (post, post_len, *other)
            assert torch.allclose(model.encode(*args).init_state, first)
