"""The hashtag generator of the paper (section 2) and its ablation variants (Table 6).

Two Bi-GRU encoders (post, conversation), bi-attention between them with a bilinear
score h_p W h_c, a merge layer tanh(W[h; r] + b) on each side, and a GRU decoder with
bilinear global attention over the memory [v_p; v_c]:  P(y_t) = softmax(W_v [s_t; c_t] + b_v).

Where the paper is silent or the authors' released code differs, the choice is a switch of
ModelConfig, picked by measurement:
  shared_encoder      one Bi-GRU reads the post and the conversation (the authors' code)
  bi_attention_score  "bilinear" h_p W h_c (paper, eq. 3) or "dot" h_p . h_c (authors' code)
  input_feeding       Luong-style decoder: the attentional state h~_t = tanh(W_c [c_t; s_t])
                      feeds the output layer and the next step's input (authors' code);
                      off = the paper's eq. 10, softmax(W_v [s_t; c_t] + b_v)
  init_range          every weight uniform in +-init_range (authors: 0.1); 0 = PyTorch's own
  output_size         the output layer covers the first output_size words of the vocabulary
                      (the vocabulary puts the words of training hashtags first); 0 = all

Variants are switches of the same module, not copies:
  full            memory [v_p; v_c]
  post_att        memory v_p (bi-attention computed, decoder reads the post side)
  conv_att        memory v_c
  seq2seq_post    plain seq2seq on the post (h_p)
  seq2seq_conv    plain seq2seq on the conversation (h_c)
  seq2seq_concat  plain seq2seq on post and conversation concatenated
  seq2seq_copy    seq2seq on the post with a copy mechanism: each step mixes the vocabulary
                  distribution with the attention over post words (gated, as in
                  pointer-generator networks; Gu et al. 2016 is the paper's reference), so
                  post words outside the vocabulary can be generated
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from threadtag.schemas.variants import VARIANTS, Variant


@dataclass(frozen=True)
class ModelConfig:
    """The network's shape. No field has a default: a model's sizes and switches come from the
    settings (threadtag/app/recipes.py, model_config), so one built from code is the one the
    CLI trains."""

    vocab_size: int
    pad_id: int
    embed_dim: int
    hidden_size: int
    encoder_layers: int
    dropout: float
    variant: Variant
    shared_encoder: bool
    bi_attention_score: str
    input_feeding: bool
    init_range: float
    output_size: int  # 0: the whole vocabulary
    unk_id: int = 0  # the vocabulary's <unk> (models/vocab.py), fed back in place of copied words outside it

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose from {VARIANTS}")
        if self.hidden_size % 2:
            raise ValueError("hidden_size must be even: it is split across the two directions")
        if self.bi_attention_score not in ("bilinear", "dot"):
            raise ValueError(f"bi_attention_score must be bilinear or dot, not {self.bi_attention_score!r}")
        if not 0 <= self.output_size <= self.vocab_size:
            raise ValueError(f"output_size {self.output_size} outside 0..{self.vocab_size}")
        if self.copies and self.output_size not in (0, self.vocab_size):
            raise ValueError("the copy variant generates over the whole vocabulary (output vocabulary 'all')")

    @property
    def outputs(self) -> int:
        """Words the output layer scores: ids 0..outputs-1."""
        return self.output_size or self.vocab_size

    @property
    def uses_bi_attention(self) -> bool:
        return self.variant in ("full", "post_att", "conv_att")

    @property
    def copies(self) -> bool:
        return self.variant == "seq2seq_copy"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# How checkpoints written before these switches existed were built: they load as they trained.
BEFORE_SWITCHES: dict[str, object] = {
    "shared_encoder": False,
    "bi_attention_score": "bilinear",
    "input_feeding": False,
    "init_range": 0.0,
    "output_size": 0,
}


def masked_softmax(scores: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """Softmax over `dim` where `mask` is False gets exactly zero weight."""
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=dim)


def length_mask(lengths: Tensor, max_len: int) -> Tensor:
    """[B] lengths -> [B, max_len] bool, True on real tokens."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def concat_padded(a: Tensor, a_len: Tensor, b: Tensor, b_len: Tensor, pad_id: int) -> tuple[Tensor, Tensor]:
    """Row-wise [a[:a_len]; b[:b_len]], re-padded, without a Python loop over rows."""
    batch = a.size(0)
    total = a_len + b_len
    width = int(total.max())
    out = a.new_full((batch, width + 1), pad_id)  # the last column swallows padding writes
    pos_a = torch.arange(a.size(1), device=a.device).expand(batch, -1)
    pos_b = torch.arange(b.size(1), device=b.device).expand(batch, -1)
    out.scatter_(1, torch.where(pos_a < a_len[:, None], pos_a, width), a)
    out.scatter_(1, torch.where(pos_b < b_len[:, None], a_len[:, None] + pos_b, width), b)
    return out[:, :width], total


class BiGRUEncoder(nn.Module):
    """Multi-layer Bi-GRU over packed sequences, so padding never enters a state."""

    def __init__(self, embed_dim: int, hidden_size: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.gru = nn.GRU(
            embed_dim,
            hidden_size // 2,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )

    def forward(self, embedded: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """-> (states [B, L, d] with zeros on padding, final [B, d] = [last forward; first backward])."""
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        outputs, final = self.gru(packed)
        states, _ = pad_packed_sequence(outputs, batch_first=True, total_length=embedded.size(1))
        return states, torch.cat([final[-2], final[-1]], dim=-1)


class BiAttention(nn.Module):
    """Post-aware conversation and conversation-aware post (eqs. 3-4), one score matrix:
    bilinear f(h_i^p, h_j^c) = h_i^p W h_j^c, or the plain dot product."""

    def __init__(self, d: int, score: str = "bilinear") -> None:
        super().__init__()
        self.bilinear = nn.Linear(d, d, bias=False) if score == "bilinear" else None

    def forward(self, h_p: Tensor, mask_p: Tensor, h_c: Tensor, mask_c: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """-> (r_c [B, Lp, d], r_p [B, Lc, d], alpha_c [B, Lp, Lc])."""
        keys = h_c if self.bilinear is None else self.bilinear(h_c)
        scores = torch.bmm(h_p, keys.transpose(1, 2))
        alpha_c = masked_softmax(scores, mask_c[:, None, :], dim=2)
        alpha_p = masked_softmax(scores.transpose(1, 2), mask_p[:, None, :], dim=2)
        return torch.bmm(alpha_c, h_c), torch.bmm(alpha_p, h_p), alpha_c


@dataclass
class EncoderOutput:
    """What the decoder attends to, per post (rows may be repeated for beams)."""

    memory: Tensor  # [B, M, d]
    memory_mask: Tensor  # [B, M] bool
    init_state: Tensor  # [B, d]
    bi_attention: Tensor | None = None  # [B, Lp, Lc], for explanations
    copy_ids: Tensor | None = None  # [B, M] extended vocabulary ids of the memory's words (copy variant)
    copy_extra: int = 0  # extended ids beyond the vocabulary in this batch

    def select(self, rows: Tensor) -> EncoderOutput:
        def pick(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.index_select(0, rows)

        return EncoderOutput(
            self.memory.index_select(0, rows),
            self.memory_mask.index_select(0, rows),
            self.init_state.index_select(0, rows),
            pick(self.bi_attention),
            pick(self.copy_ids),
            self.copy_extra,
        )


class HashtagGenerator(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        d = config.hidden_size
        self.embedding = nn.Embedding(config.vocab_size, config.embed_dim, padding_idx=config.pad_id)
        self.dropout = nn.Dropout(config.dropout)
        variant = config.variant

        def bi_gru() -> BiGRUEncoder:
            return BiGRUEncoder(config.embed_dim, d, config.encoder_layers, config.dropout)

        self.post_encoder = bi_gru() if variant != "seq2seq_conv" else None
        self.conv_encoder: BiGRUEncoder | None = None
        if config.uses_bi_attention or variant == "seq2seq_conv":
            shared = config.shared_encoder and self.post_encoder is not None
            self.conv_encoder = self.post_encoder if shared else bi_gru()
        if config.uses_bi_attention:
            self.bi_attention = BiAttention(d, config.bi_attention_score)
            self.merge_post = nn.Linear(2 * d, d)
            self.merge_conv = nn.Linear(2 * d, d)
        # The paper leaves the decoder's first state open; we bridge from the final states of
        # the encoders whose memory the decoder reads.
        self.bridge = nn.Linear(2 * d if variant == "full" else d, d)
        feed = d if config.input_feeding else 0
        self.decoder = nn.GRU(config.embed_dim + feed, d, batch_first=True)
        self.attention = nn.Linear(d, d, bias=False)  # g(s_t, v_i) = s_t W_att v_i
        features = d if config.input_feeding else 2 * d
        if config.input_feeding:
            self.attn_combine = nn.Linear(2 * d, d, bias=False)  # h~_t = tanh(W_c [c_t; s_t])
        self.output = nn.Linear(features, config.outputs)
        if config.copies:
            self.copy_gate = nn.Linear(features + config.embed_dim, 1)  # P(generate) from [features; y_{t-1}]
        if config.init_range > 0:
            with torch.no_grad():
                for param in self.parameters():
                    param.uniform_(-config.init_range, config.init_range)
                self.embedding.weight[config.pad_id].zero_()

    # -- encoding ---------------------------------------------------------------------------

    def _encode_one(self, encoder: BiGRUEncoder, tokens: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        states, final = encoder(self.dropout(self.embedding(tokens)), lengths)
        return states, length_mask(lengths, tokens.size(1)), final

    def _initial_state(self, final: Tensor) -> Tensor:
        """Decoder state [B, d]; with input feeding the previous h~ (zeros) rides along: [B, 2d]."""
        s0 = torch.tanh(self.bridge(final))
        if not self.config.input_feeding:
            return s0
        return torch.cat([s0, torch.zeros_like(s0)], dim=-1)

    def encode(
        self, post: Tensor, post_len: Tensor, conv: Tensor, conv_len: Tensor, post_copy: Tensor | None = None
    ) -> EncoderOutput:
        """`post_copy` (copy variant): the post's ids in the extended vocabulary."""
        variant = self.config.variant
        if self.config.copies:
            if post_copy is None:
                raise ValueError("the copy variant needs the post's extended ids (post_copy)")
            assert self.post_encoder is not None
            states, mask, final = self._encode_one(self.post_encoder, post, post_len)
            extra = max(0, int(post_copy.max()) + 1 - self.config.vocab_size)
            return EncoderOutput(states, mask, self._initial_state(final), None, post_copy, extra)
        if variant in ("seq2seq_post", "seq2seq_conv", "seq2seq_concat"):
            if variant == "seq2seq_post":
                tokens, lengths, encoder = post, post_len, self.post_encoder
            elif variant == "seq2seq_conv":
                tokens, lengths, encoder = conv, conv_len, self.conv_encoder
            else:
                tokens, lengths = concat_padded(post, post_len, conv, conv_len, self.config.pad_id)
                encoder = self.post_encoder
            assert encoder is not None
            states, mask, final = self._encode_one(encoder, tokens, lengths)
            return EncoderOutput(states, mask, self._initial_state(final))

        assert self.post_encoder is not None and self.conv_encoder is not None
        h_p, mask_p, final_p = self._encode_one(self.post_encoder, post, post_len)
        h_c, mask_c, final_c = self._encode_one(self.conv_encoder, conv, conv_len)
        r_c, r_p, alpha_c = self.bi_attention(h_p, mask_p, h_c, mask_c)
        v_p = torch.tanh(self.merge_post(torch.cat([h_p, r_c], dim=-1)))  # eq. 5
        v_c = torch.tanh(self.merge_conv(torch.cat([h_c, r_p], dim=-1)))  # eq. 6
        if variant == "post_att":  # the decoder only takes v^p (paper, section 3)
            return EncoderOutput(v_p, mask_p, self._initial_state(final_p), alpha_c)
        if variant == "conv_att":
            return EncoderOutput(v_c, mask_c, self._initial_state(final_c), alpha_c)
        init = self._initial_state(torch.cat([final_p, final_c], dim=-1))
        return EncoderOutput(torch.cat([v_p, v_c], dim=1), torch.cat([mask_p, mask_c], dim=1), init, alpha_c)

    # -- decoding ---------------------------------------------------------------------------

    def _attend(self, states: Tensor, enc: EncoderOutput) -> tuple[Tensor, Tensor]:
        """[N, T, d] decoder states -> (context c_t [N, T, d], attention [N, T, M]) (eqs. 8-9).

        N may be posts x k (k hypotheses per post, post-major): the memory stays one row per
        post and the k hypotheses of a post are read as k more query positions, so beam
        search never copies the memory per beam."""
        n, steps, d = states.shape
        posts = enc.memory.size(0)
        queries = states.reshape(posts, (n // posts) * steps, d)
        scores = torch.bmm(self.attention(queries), enc.memory.transpose(1, 2))
        alpha = masked_softmax(scores, enc.memory_mask[:, None, :], dim=2)
        context = torch.bmm(alpha, enc.memory)
        return context.view(n, steps, d), alpha.view(n, steps, -1)

    def _decode(self, embedded: Tensor, state: Tensor, enc: EncoderOutput) -> tuple[Tensor, Tensor, Tensor]:
        """Teacher-forced or one-step decoding: inputs [N, T, E], state [N, S] ->
        (features [N, T, F] for the output layer, attention [N, T, M], last state [N, S])."""
        if not self.config.input_feeding:
            states, last = self.decoder(embedded, state[None].contiguous())
            context, alpha = self._attend(states, enc)
            return torch.cat([states, context], dim=-1), alpha, last[0]  # [s_t; c_t] (eq. 10)
        d = self.config.hidden_size
        s, fed = state[:, :d], state[:, d:]
        features, alphas = [], []
        for t in range(embedded.size(1)):
            out, last = self.decoder(torch.cat([embedded[:, t], fed], dim=-1)[:, None], s[None].contiguous())
            s = last[0]
            context, alpha = self._attend(out, enc)
            fed = torch.tanh(self.attn_combine(torch.cat([context[:, 0], s], dim=-1)))
            features.append(fed)
            alphas.append(alpha[:, 0])
        return torch.stack(features, dim=1), torch.stack(alphas, dim=1), torch.cat([s, fed], dim=-1)

    def _logits(self, features: Tensor) -> Tensor:
        """The output layer in its own dtype (bf16 after `output_in_bf16`), logits in float32."""
        return self.output(features.to(self.output.weight.dtype)).float()

    def output_in_bf16(self) -> None:
        """Decode with a bf16 output layer, the costliest product (opt-in: `DECODE_BF16`)."""
        self.output.to(torch.bfloat16)

    def _embed_input(self, tokens: Tensor) -> Tensor:
        # A copied word outside the vocabulary is fed back as <unk>.
        return self.embedding(tokens.masked_fill(tokens >= self.config.vocab_size, self.config.unk_id))

    def _copy_log_probs(
        self, features: Tensor, alpha: Tensor, embedded: Tensor, copy_ids: Tensor, extra: int
    ) -> Tensor:
        """[N, F], [N, M], [N, E], [N, M] -> log P over the extended vocabulary [N, V + extra]:
        g * P_vocab + (1 - g) * attention mass of the post positions holding each word."""
        generate = torch.sigmoid(self.copy_gate(torch.cat([features, embedded], dim=-1)))
        dist = generate * torch.softmax(self._logits(features), dim=-1)
        dist = torch.cat([dist, dist.new_zeros(dist.size(0), extra)], dim=-1)
        dist = dist.scatter_add(1, copy_ids, (1 - generate) * alpha)
        return torch.log(dist.clamp_min(1e-12))

    def step(self, tokens: Tensor, state: Tensor, enc: EncoderOutput) -> tuple[Tensor, Tensor]:
        """One decoding step for N = posts x k hypotheses (post-major; `enc` has one row per
        post): tokens [N], state [N, S] -> (log-probs [N, outputs(+extra)], state)."""
        embedded = self._embed_input(tokens)
        features, alpha, new_state = self._decode(embedded[:, None, :], state, enc)
        if enc.copy_ids is not None:
            per_hyp = tokens.size(0) // enc.copy_ids.size(0)
            copy_ids = enc.copy_ids.repeat_interleave(per_hyp, dim=0)
            return self._copy_log_probs(features[:, 0], alpha[:, 0], embedded, copy_ids, enc.copy_extra), new_state
        return torch.log_softmax(self._logits(features[:, 0]), dim=-1), new_state

    def sequence_nll(
        self,
        post: Tensor,
        post_len: Tensor,
        conv: Tensor,
        conv_len: Tensor,
        target_in: Tensor,
        target_out: Tensor,
        post_copy: Tensor | None = None,
    ) -> Tensor:
        """Summed negative log-likelihood of each target sequence: [B] (eq. 11 per instance).

        Only real target positions reach the output layer, the costliest matrix product. A
        target word beyond the output layer counts as <unk>.
        """
        enc = self.encode(post, post_len, conv, conv_len, post_copy)
        embedded = self._embed_input(target_in)
        features, alpha, _ = self._decode(self.dropout(embedded), enc.init_state, enc)
        features = self.dropout(features)
        real = target_out != self.config.pad_id
        if enc.copy_ids is not None:
            rows = real.nonzero()[:, 0]
            log_probs = self._copy_log_probs(
                features[real], alpha[real], embedded[real], enc.copy_ids.index_select(0, rows), enc.copy_extra
            )
            token_nll = -log_probs.gather(1, target_out[real][:, None])[:, 0]
        else:
            target = target_out.masked_fill(target_out >= self.config.outputs, self.config.unk_id)
            token_nll = nn.functional.cross_entropy(self.output(features[real]), target[real], reduction="none")
        per_row = torch.zeros(target_out.size(0), device=token_nll.device, dtype=token_nll.dtype)
        return per_row.index_add(0, real.nonzero()[:, 0], token_nll)
