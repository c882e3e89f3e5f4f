"""Beam search against brute force: with a beam wide enough to keep every prefix, the
ranked list must equal exhaustive enumeration of all hashtags of 1..max_len words."""

import itertools

import pytest
import torch

from tests.helpers.models import tiny_model
from threadtag.models.beam_search import SpecialIds, beam_search

SPECIALS = SpecialIds(bos=2, eos=3, never=(0, 1, 2))
WORDS = [4, 5, 6]  # vocabulary: 4 specials + 3 words
MAX_LEN = 3


def exhaustive(model, post, conv, post_copy=None, words=WORDS):
    """Score every word sequence of length 1..MAX_LEN followed by </s> with teacher forcing."""
    p = torch.tensor([post])
    c = torch.tensor([conv])
    copy = None if post_copy is None else torch.tensor([post_copy])
    scored = []
    with torch.no_grad():
        for n in range(1, MAX_LEN + 1):
            for seq in itertools.product(words, repeat=n):
                t_in = torch.tensor([[SPECIALS.bos, *seq]])
                t_out = torch.tensor([[*seq, SPECIALS.eos]])
                nll = model.sequence_nll(p, torch.tensor([len(post)]), c, torch.tensor([len(conv)]), t_in, t_out, copy)
                scored.append((seq, -float(nll[0])))
    return sorted(scored, key=lambda item: -item[1])


@pytest.mark.parametrize("variant", ["full", "seq2seq_post"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wide_beam_equals_exhaustive_search(variant, seed):
    model = tiny_model(variant, vocab_size=7, seed=seed)
    # Sharpen the output layer so scores are far apart and the ranking is meaningful.
    with torch.no_grad():
        model.output.weight.mul_(8)
    post, conv = [4, 5, 6, 4], [6, 6, 5]
    expected = exhaustive(model, post, conv)
    inputs = (torch.tensor([post]), torch.tensor([len(post)]), torch.tensor([conv]), torch.tensor([len(conv)]))
    # 36 = the most candidates at any step (9 live prefixes x 4 continuations): nothing is pruned.
    [hyps] = beam_search(model, inputs, SPECIALS, beam_size=36, max_len=MAX_LEN, n_best=10)
    assert [h.tokens for h in hyps] == [seq for seq, _ in expected[:10]]
    assert [h.score for h in hyps] == pytest.approx([s for _, s in expected[:10]], abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1])
def test_wide_beam_equals_exhaustive_search_with_copying(seed):
    """The copy variant ranks over the extended vocabulary: here id 7, a post word the
    vocabulary (ids 0-6) lacks, can be generated too."""
    model = tiny_model("seq2seq_copy", vocab_size=7, seed=seed)
    with torch.no_grad():
        model.output.weight.mul_(8)
    post, post_copy, conv = [4, 0, 6, 4], [4, 7, 6, 4], [6, 6, 5]
    words = [*WORDS, 7]
    expected = exhaustive(model, post, conv, post_copy, words)
    inputs = (torch.tensor([post]), torch.tensor([len(post)]), torch.tensor([conv]), torch.tensor([len(conv)]))
    # 80 = 16 live prefixes x 5 continuations.
    [hyps] = beam_search(model, inputs, SPECIALS, 80, MAX_LEN, n_best=10, post_copy=torch.tensor([post_copy]))
    assert [h.tokens for h in hyps] == [seq for seq, _ in expected[:10]]
    assert [h.score for h in hyps] == pytest.approx([s for _, s in expected[:10]], abs=1e-4)


def test_narrow_beam_returns_distinct_ranked_hashtags_without_specials():
    model = tiny_model("full", vocab_size=7, seed=3)
    inputs = (torch.tensor([[4, 5]]), torch.tensor([2]), torch.tensor([[6]]), torch.tensor([1]))
    [hyps] = beam_search(model, inputs, SPECIALS, beam_size=3, max_len=MAX_LEN, n_best=5)
    tokens = [h.tokens for h in hyps]
    assert len(set(tokens)) == len(tokens) > 0
    assert all(1 <= len(t) <= MAX_LEN and set(t) <= set(WORDS) for t in tokens)
    assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)


def test_early_finished_posts_match_a_full_length_run():
    """Dropping finished posts must not change their results: compare n_best=1 (posts drop
    early) with the first entries of n_best=40 (no post can finish before max length)."""
    model = tiny_model("full", vocab_size=7, seed=4)
    posts = torch.tensor([[4, 5, 6], [6, 1, 1]])
    inputs = (posts, torch.tensor([3, 1]), torch.tensor([[5, 5], [4, 1]]), torch.tensor([2, 1]))
    short = beam_search(model, inputs, SPECIALS, beam_size=36, max_len=MAX_LEN, n_best=1)
    long = beam_search(model, inputs, SPECIALS, beam_size=36, max_len=MAX_LEN, n_best=40)
    for a, b in zip(short, long):
        assert a[0].tokens == b[0].tokens and a[0].score == pytest.approx(b[0].score, abs=1e-5)


def _configured_model(seed: int, **options) -> "HashtagGenerator":  # noqa: F821
    from tests.helpers.models import tiny_config
    from threadtag.models.network import HashtagGenerator

    torch.manual_seed(seed)
    config = tiny_config(vocab_size=7, encoder_layers=1, **options)
    model = HashtagGenerator(config).eval()
    with torch.no_grad():
        model.output.weight.mul_(8)
    return model


@pytest.mark.parametrize("seed", [0, 1])
def test_wide_beam_equals_exhaustive_search_with_the_chosen_options(seed):
    """Input feeding (the state carries h~), a shared encoder, dot bi-attention and an output
    layer over the first 6 ids (word 6 can never be generated)."""
    model = _configured_model(
        seed, shared_encoder=True, bi_attention_score="dot", input_feeding=True, init_range=0.5, output_size=6
    )
    post, conv = [4, 5, 6, 4], [6, 6, 5]
    expected = exhaustive(model, post, conv, words=[4, 5])
    inputs = (torch.tensor([post]), torch.tensor([len(post)]), torch.tensor([conv]), torch.tensor([len(conv)]))
    [hyps] = beam_search(model, inputs, SPECIALS, beam_size=36, max_len=MAX_LEN, n_best=10)
    assert [h.tokens for h in hyps] == [seq for seq, _ in expected[:10]]
    assert [h.score for h in hyps] == pytest.approx([s for _, s in expected[:10]], abs=1e-4)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blocking_repeats_equals_exhaustive_search_over_hashtags_without_a_repeated_word(seed):
    model = tiny_model("full", vocab_size=7, seed=seed)
    with torch.no_grad():
        model.output.weight.mul_(8)
    post, conv = [4, 5, 6, 4], [6, 6, 5]
    expected = [(seq, s) for seq, s in exhaustive(model, post, conv) if len(set(seq)) == len(seq)]
    inputs = (torch.tensor([post]), torch.tensor([len(post)]), torch.tensor([conv]), torch.tensor([len(conv)]))
    [hyps] = beam_search(model, inputs, SPECIALS, beam_size=36, max_len=MAX_LEN, n_best=10, block_repeats=True)
    assert [h.tokens for h in hyps] == [seq for seq, _ in expected[:10]]
    assert [h.score for h in hyps] == pytest.approx([s for _, s in expected[:10]], abs=1e-4)


def test_search_arguments_are_checked():
    model = tiny_model("full", vocab_size=7)
    inputs = (torch.tensor([[4]]), torch.tensor([1]), torch.tensor([[5]]), torch.tensor([1]))
    with pytest.raises(ValueError, match="n-best"):
        beam_search(model, inputs, SPECIALS, beam_size=3, max_len=MAX_LEN, n_best=0)


def test_bf16_output_layer_gives_float32_log_probs_close_to_float32_ones():
    model = tiny_model("full", vocab_size=7, seed=5)
    inputs = (torch.tensor([[4, 5]]), torch.tensor([2]), torch.tensor([[6]]), torch.tensor([1]))
    with torch.no_grad():
        enc = model.encode(*inputs)
        exact, _ = model.step(torch.tensor([2]), enc.init_state, enc)
        model.output_in_bf16()
        approx, _ = model.step(torch.tensor([2]), enc.init_state, enc)
    assert model.output.weight.dtype == torch.bfloat16 and approx.dtype == torch.float32
    assert torch.allclose(approx, exact, atol=0.05)
    assert beam_search(model, inputs, SPECIALS, beam_size=3, max_len=MAX_LEN, n_best=2)[0]
