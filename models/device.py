"""Where tensors live: CUDA when asked for or available, else the CPU with a set thread count."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto", cpu_threads: int = 0) -> torch.device:
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("DEVICE=cuda but torch sees no CUDA device")
    device = torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")
    if device.type == "cpu" and cpu_threads > 0:
        torch.set_num_threads(cpu_threads)
    return device
