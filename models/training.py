"""Training (paper, section 3): Adam, gradient norm clipped, learning rate halved when the dev
loss stops falling, fixed seeds. Two schedules:
  early_stop  stop after `patience` epochs without a better dev loss; keep the best epoch
  fixed       the authors' released code: `max_epochs` epochs, the rate halved every epoch
              from the first one whose dev loss rose; keep the last epoch
"""

from __future__ import annotations

import copy
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

import structlog
import torch
from tqdm import tqdm

from threadtag.models.batching import Batch, EncodedPair, TextLimits, make_batch, training_pairs
from threadtag.models.checkpoint import Checkpoint, new_version_id
from threadtag.models.corpus import Example, example_key
from threadtag.models.network import HashtagGenerator, ModelConfig
from threadtag.models.vocab import Vocab

log = structlog.get_logger(__name__)

# Batches are drawn from pools of this many batches sorted by length: padding falls and
# the order stays random from epoch to epoch.
_POOL_BATCHES = 32
SCHEDULES = ("early_stop", "fixed")


@dataclass(frozen=True)
class TrainConfig:
    """How a model trains; no field has a default: the settings give them
    (threadtag/app/recipes.py, train_config)."""

    lr: float
    batch_size: int
    grad_clip: float
    lr_decay: float
    min_lr: float
    patience: int
    max_epochs: int
    seed: int
    schedule: str

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown training schedule {self.schedule!r}; choose from {SCHEDULES}")


@dataclass(frozen=True)
class VocabConfig:
    max_size: int
    min_freq: int = 1  # words of posts and conversations seen fewer times are <unk>
    hashtag_output: bool = False  # the output layer covers only the words of training hashtags


@dataclass(frozen=True)
class EpochLog:
    epoch: int
    train_loss: float
    dev_loss: float
    lr: float
    seconds: float


def set_seed(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def batches(pairs: Sequence[EncodedPair], vocab: Vocab, size: int, rng: random.Random | None) -> Iterator[Batch]:
    """Batches of similar length; shuffled when `rng` is given, else in a fixed order."""
    order = list(range(len(pairs)))
    if rng is not None:
        rng.shuffle(order)
    pool = size * _POOL_BATCHES
    chunks = []
    for start in range(0, len(order), pool):
        block = sorted(order[start : start + pool], key=lambda i: (len(pairs[i].conv), len(pairs[i].post)))
        chunks.extend(block[i : i + size] for i in range(0, len(block), size))
    if rng is not None:
        rng.shuffle(chunks)
    for chunk in chunks:
        yield make_batch([pairs[i] for i in chunk], vocab)


def mean_loss(
    model: HashtagGenerator, pairs: Sequence[EncodedPair], vocab: Vocab, size: int, device: torch.device
) -> float:
    """Mean per-hashtag negative log-likelihood, dropout off."""
    model.eval()
    total = 0.0
    with torch.inference_mode():
        for batch in batches(pairs, vocab, size, rng=None):
            b = batch.to(device)
            total += float(model.sequence_nll(*b.inputs(), b.target_in, b.target_out, b.post_copy).sum())
    return total / max(1, len(pairs))


def build_vocab(examples: Sequence[Example], max_size: int, min_freq: int = 1) -> Vocab:
    """Words of posts, conversations and hashtags; the hashtags' words first (all kept)."""
    streams = (tokens for ex in examples for tokens in (ex.post, ex.conv, *ex.tags))
    return Vocab.build(streams, max_size, min_freq, lead_streams=(tag for ex in examples for tag in ex.tags))


def hashtag_output_size(vocab: Vocab, examples: Sequence[Example]) -> int:
    """Ids below this cover the specials and every word of the examples' hashtags."""
    words = {w for ex in examples for tag in ex.tags for w in tag}
    return 1 + max((vocab.stoi[w] for w in words if w in vocab.stoi), default=vocab.eos_id)


def train(
    train_examples: Sequence[Example],
    dev_examples: Sequence[Example],
    model_config: dict[str, object],
    limits: TextLimits,
    config: TrainConfig,
    vocab_config: VocabConfig,
    device: torch.device,
    progress: bool = True,
    on_epoch: Callable[[EpochLog], None] | None = None,
    init: Checkpoint | None = None,
) -> Checkpoint:
    """Train a model from examples; returns the checkpoint the schedule keeps.

    `model_config` holds ModelConfig fields other than vocab_size, pad_id and output_size.
    With `init`, training continues from that checkpoint: its weights, vocabulary, config and
    limits (`model_config`, `limits` and `vocab_config` are then not used).
    """
    if not train_examples or not dev_examples:
        raise ValueError("training needs at least one training and one dev example")
    set_seed(config.seed)
    rng = random.Random(config.seed)
    lang = train_examples[0].lang
    if init is not None:
        vocab, limits = init.vocab, init.limits
        model = copy.deepcopy(init.model)
    else:
        vocab = build_vocab(train_examples, vocab_config.max_size, vocab_config.min_freq)
        copies = model_config.get("variant") == "seq2seq_copy"  # copying scores the whole vocabulary
        output_size = hashtag_output_size(vocab, train_examples) if vocab_config.hashtag_output and not copies else 0
        model = HashtagGenerator(
            ModelConfig(vocab_size=len(vocab), pad_id=vocab.pad_id, output_size=output_size, **model_config)  # type: ignore[arg-type]
        )
    train_pairs = training_pairs(train_examples, vocab, limits, model.config.copies)
    dev_pairs = training_pairs(dev_examples, vocab, limits, model.config.copies)
    model.to(device)
    # fused: one kernel over all parameters instead of a loop of small ops (10x faster on CPU).
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, fused=True)
    log.info(
        "training",
        variant=model.config.variant,
        vocab=len(vocab),
        train_pairs=len(train_pairs),
        dev_pairs=len(dev_pairs),
        parameters=sum(p.numel() for p in model.parameters()),
        device=str(device),
        warm_start_from=init.version if init else None,
    )
    best_loss, best_state, stale = float("inf"), copy.deepcopy(model.state_dict()), 0
    kept_epoch, decaying, previous = 0, False, float("inf")
    history: list[EpochLog] = []
    lr = config.lr
    for epoch in range(1, config.max_epochs + 1):
        started = time.perf_counter()
        model.train()
        running, seen = 0.0, 0
        steps = -(-len(train_pairs) // config.batch_size)
        bar = tqdm(
            batches(train_pairs, vocab, config.batch_size, rng),
            total=steps,
            desc=f"epoch {epoch}",
            disable=not progress,
            leave=False,  # one bar at a time, not one line per epoch
        )
        for batch in bar:
            b = batch.to(device)
            nll = model.sequence_nll(*b.inputs(), b.target_in, b.target_out, b.post_copy)
            loss = nll.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            running += float(nll.detach().sum())
            seen += b.size
            bar.set_postfix(loss=f"{running / seen:.3f}", lr=f"{lr:.0e}")
        dev = mean_loss(model, dev_pairs, vocab, config.batch_size, device)
        entry = EpochLog(epoch, running / max(1, seen), dev, lr, time.perf_counter() - started)
        history.append(entry)
        log.info("epoch", **{k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(entry).items()})
        if on_epoch:
            on_epoch(entry)
        if config.schedule == "fixed":
            # The last epoch is kept: decay, once begun, goes on every epoch (OpenNMT's rule).
            decaying = decaying or dev > previous
            previous, kept_epoch, best_loss = dev, epoch, min(best_loss, dev)
            lr = lr * config.lr_decay if decaying else lr
        elif dev < best_loss:
            best_loss, best_state, stale, kept_epoch = dev, copy.deepcopy(model.state_dict()), 0, epoch
            continue
        else:
            stale += 1
            lr *= config.lr_decay
        if lr < config.min_lr or stale >= config.patience:
            break
        for group in optimizer.param_groups:
            group["lr"] = lr
    if config.schedule == "fixed":
        best_state = model.state_dict()
    model.load_state_dict(best_state)
    model.eval()
    return Checkpoint(
        model=model,
        vocab=vocab,
        limits=limits,
        lang=lang,
        version=new_version_id(model.config.variant),
        training={
            "best_dev_loss": best_loss,
            "kept_epoch": kept_epoch,
            "kept_dev_loss": history[kept_epoch - 1].dev_loss if kept_epoch else None,
            "epochs": [asdict(e) for e in history],
            "train_examples": len(train_examples),
            "train_pairs": len(train_pairs),
            "dev_examples": len(dev_examples),
            "config": asdict(config),
            "warm_start_from": init.version if init else None,
            # What it learnt from (with what its starting model learnt from): a gate must not
            # score a model on posts it trained on.
            "trained_on": sorted(
                {example_key(ex) for ex in train_examples} | set(init.training.get("trained_on", []) if init else [])
            ),
        },
    )
