"""Batched beam search: all posts and all beams in one flat [posts x beams] tensor.

A hashtag is 1..max_len words followed by </s>; its score is log P(words, </s>). A
hypothesis that emits </s> is finished and leaves the beam (its slot scores -inf), as in
OpenNMT-py. A post is dropped from the tensors as soon as its n-best finished hashtags
all score at least as high as its best live hypothesis: log-probabilities only fall, so
nothing later could enter its top n.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from threadtag.models.network import HashtagGenerator


@dataclass(frozen=True)
class Hypothesis:
    tokens: tuple[int, ...]  # word ids, </s> excluded
    score: float  # log-probability of the words and the closing </s>


@dataclass(frozen=True)
class SpecialIds:
    bos: int
    eos: int
    never: tuple[int, ...]  # ids never generated (<unk>, <pad>, <s>)


def _kth_best(hyps: list[Hypothesis], k: int) -> float:
    if len(hyps) < k:
        return float("-inf")
    return sorted((h.score for h in hyps), reverse=True)[k - 1]


@torch.inference_mode()
def beam_search(
    model: HashtagGenerator,
    inputs: tuple[Tensor, Tensor, Tensor, Tensor],
    specials: SpecialIds,
    beam_size: int,
    max_len: int,
    n_best: int,
    post_copy: Tensor | None = None,
    block_repeats: bool = False,
) -> list[list[Hypothesis]]:
    """Top `n_best` distinct hashtags per post, best first (ids in the extended vocabulary
    when the model copies: `post_copy` is then the batch's post in extended ids).
    `block_repeats`: a word never appears twice in one hashtag."""
    if beam_size < 1 or n_best < 1 or max_len < 1:
        raise ValueError(f"beam size, n-best and max length must be >= 1 (got {beam_size}, {n_best}, {max_len})")
    model.eval()
    enc = model.encode(*inputs, post_copy)  # one row per post; hypotheses are posts x width, post-major
    posts = enc.memory.size(0)
    device = enc.memory.device
    # Step 1 reads one row per post (all beams would start from the same <s>); its top
    # beam_size words then open the beams.
    width = 1
    state = enc.init_state
    scores = torch.zeros((posts, 1), device=device)
    seqs = torch.empty((posts, 0), dtype=torch.long, device=device)
    tokens = torch.full((posts,), specials.bos, dtype=torch.long, device=device)
    live_posts = torch.arange(posts, device=device)
    finished: list[list[Hypothesis]] = [[] for _ in range(posts)]
    never = torch.tensor(specials.never, dtype=torch.long, device=device)

    for step in range(1, max_len + 2):
        log_probs, state = model.step(tokens, state, enc)
        vocab = log_probs.size(1)
        log_probs[:, never] = float("-inf")
        if block_repeats and seqs.size(1):
            log_probs.scatter_(1, seqs, float("-inf"))
        if step == 1:
            log_probs[:, specials.eos] = float("-inf")  # no empty hashtag
        if step == max_len + 1:
            eos_col = log_probs[:, specials.eos].clone()
            log_probs.fill_(float("-inf"))
            log_probs[:, specials.eos] = eos_col
        n = live_posts.numel()
        candidates = (scores.view(-1, 1) + log_probs).view(n, width * vocab)
        top_scores, top_index = candidates.topk(min(beam_size, width * vocab), dim=1)
        origin = (torch.arange(n, device=device)[:, None] * width + top_index // vocab).view(-1)
        width = top_index.size(1)
        words = (top_index % vocab).view(-1)
        seqs = torch.cat([seqs.index_select(0, origin), words[:, None]], dim=1)
        state = state.index_select(0, origin)

        ended = (words.view(n, width) == specials.eos) & torch.isfinite(top_scores)
        ended_at = ended.nonzero()
        if ended_at.numel():
            flat = ended_at[:, 0] * width + ended_at[:, 1]
            ended_seqs = seqs.index_select(0, flat)[:, :-1].tolist()
            ended_scores = top_scores[ended].tolist()  # row-major, the order of nonzero()
            # Posts as Python ints, read once: indexing the tensor per hypothesis costs a
            # device round trip each on a GPU.
            live = live_posts.tolist()
            for (post_row, _), words_, score in zip(ended_at.tolist(), ended_seqs, ended_scores):
                finished[live[post_row]].append(Hypothesis(tuple(words_), score))
        scores = top_scores.masked_fill(ended, float("-inf"))

        best_live = scores.max(dim=1).values.tolist()
        keep = [
            best_live[i] != float("-inf") and _kth_best(finished[p], n_best) < best_live[i]
            for i, p in enumerate(live_posts.tolist())
        ]
        if not any(keep):
            break
        if not all(keep):
            kept = torch.tensor(keep, device=device).nonzero()[:, 0]
            flat_rows = (kept[:, None] * width + torch.arange(width, device=device)).view(-1)
            enc = enc.select(kept)
            state = state.index_select(0, flat_rows)
            seqs = seqs.index_select(0, flat_rows)
            scores = scores.index_select(0, kept)
            live_posts = live_posts.index_select(0, kept)
        tokens = seqs[:, -1]

    return [sorted(hyps, key=lambda h: -h.score)[:n_best] for hyps in finished]
