"""The small training loop the neural baselines share: Adam, fixed epochs, the epoch with the
best dev loss kept."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import Tensor, nn

from threadtag.models.training import set_seed

T = TypeVar("T")


def fit_best_by_dev(
    model: nn.Module,
    summed_loss: Callable[[Sequence[T]], Tensor],
    train: list[T],
    dev: Sequence[T],
    epochs: int,
    batch_size: int,
    lr: float,
    seed: int,
) -> float:
    """Train `model` in place; returns the best dev loss per item. `summed_loss` maps a chunk
    of items to their summed loss."""
    set_seed(seed)
    rng = random.Random(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state = float("inf"), copy.deepcopy(model.state_dict())
    for _ in range(epochs):
        model.train()
        rng.shuffle(train)
        for start in range(0, len(train), batch_size):
            chunk = train[start : start + batch_size]
            loss = summed_loss(chunk) / len(chunk)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.inference_mode():
            total = sum(float(summed_loss(dev[s : s + batch_size])) for s in range(0, len(dev), batch_size))
        dev_loss = total / len(dev) if dev else 0.0
        if dev_loss < best or not dev:
            best, best_state = dev_loss, copy.deepcopy(model.state_dict())
    model.load_state_dict(best_state)
    model.eval()
    return best
