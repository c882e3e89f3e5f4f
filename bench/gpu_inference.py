"""Inference on a GPU against the CPU of the same machine: the inference worker's model work
(the generator's beam search alone, and the hybrid path around it) in requests/s per batch
size, with the GPU's utilisation sampled while each row runs and the CUDA allocator's peak.

    .venv/bin/python -m bench.gpu_inference --model runs/seed13.pt [--weibo DIR] [--batch-sizes 64 256 1024]

Requests: every post of the Weibo files with its conversation. Baseline in the same run: the
same model on this machine's CPU at PREDICT_BATCH_SIZE. The last row pair decodes with a bf16
output layer (DECODE_BF16) at the largest batch. Each row is the median of --rounds
timed passes after one untimed pass (CUDA's kernels load and its allocator fills on the first).
Utilisation: NVML's "GPU busy" percentage (the share of time a kernel ran), sampled every
20 ms; it says nothing of how full each kernel kept the chip.

On a lent machine whose Python lacks the project's own dependencies, they travel as wheels
(`pip download --no-deps --python-version 3.12 ...` for pydantic, pydantic-core,
pydantic-settings, structlog, lightgbm, ekphrasis, wordsegment, python-dotenv and the
project's own wheel; jieba's package folder without its unused `analyse`, `posseg` and
`lac_small` data) with the model and the Weibo files compressed beside them; `--weibo`
names where the files were unpacked.
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch

from bench.common import WEIBO, machine, table
from threadtag.app import configs, recipes
from threadtag.core.logging_setup import configure_logging
from threadtag.core.settings import get_settings
from threadtag.models.annotator import HybridAnnotator
from threadtag.models.checkpoint import Checkpoint
from threadtag.models.corpus import load_weibo


class BusySampler:
    """The GPU's busy percentage, sampled in a thread while a block runs."""

    def __init__(self) -> None:
        import pynvml  # nvidia-ml-py, on every machine with the NVIDIA driver's Python image

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(torch.cuda.current_device())
        self._read = lambda: pynvml.nvmlDeviceGetUtilizationRates(handle).gpu
        self.samples: list[int] = []
        self._stop = threading.Event()

    def __enter__(self) -> BusySampler:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.samples.append(self._read())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self) -> str:
        return f"{statistics.mean(self.samples):.0f}" if self.samples else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--weibo", type=Path, default=WEIBO, help="the Weibo files' folder")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256, 1024])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-cpu", action="store_true", help="GPU rows only (a second run in the same sitting)")
    args = parser.parse_args()
    configure_logging("WARNING")
    settings = get_settings()
    requests = load_weibo(args.weibo)
    if not torch.cuda.is_available():
        raise SystemExit("torch sees no CUDA device: this bench compares a GPU with the CPU beside it")

    def rate(work: Callable[[], object], sampler: BusySampler) -> tuple[float, object]:
        answer = work()  # untimed first pass
        timings = []
        with sampler:
            for _ in range(args.rounds):
                started = time.perf_counter()
                work()
                torch.cuda.synchronize()
                timings.append(time.perf_counter() - started)
        return len(requests) / statistics.median(timings), answer

    rows: list[list[object]] = []
    baseline = 0.0
    answers: dict[tuple[str, bool, int, str], list[list[str]]] = {}
    runs = [
        ("cpu", False, [settings.predict_batch_size]),
        ("cuda", False, args.batch_sizes),
        ("cuda", True, args.batch_sizes[-1:]),
    ][args.no_cpu :]
    for device, bf16, sizes in runs:
        run_settings = settings.model_copy(update={"device": device, "decode_bf16": bf16})
        checkpoint = Checkpoint.load(args.model, configs.device(run_settings))
        annotator = recipes.predictor(checkpoint, run_settings)
        generator = recipes.generator_predictor(checkpoint, run_settings)
        for size in sizes:
            generator.batch_size = size
            paths: list[tuple[str, Callable[[], object]]] = [
                ("generator alone", lambda: generator.predict_examples(requests))  # noqa: B023 - used at once
            ]
            if isinstance(annotator, HybridAnnotator):
                annotator.predictor.batch_size = size
                paths.append(("hybrid", lambda: annotator.rank(requests)))  # noqa: B023 - used at once
            for name, work in paths:
                if device == "cuda":
                    torch.cuda.reset_peak_memory_stats()
                sampler = BusySampler()
                speed, answer = rate(work, sampler)
                answers[device, bf16, size, name] = [[h.tag for h in top] for top in answer]  # type: ignore[attr-defined]
                baseline = baseline or (0.0 if args.no_cpu else speed)
                peak = f"{torch.cuda.max_memory_allocated() / 2**20:.0f}" if device == "cuda" else "-"
                versus = f"{speed / baseline:.2f}" if baseline else "-"
                rows.append([device, bf16, size, name, f"{speed:.0f}", versus, sampler.mean(), peak])
    print(f"machine: {machine()}")
    print(
        f"model: {args.model}; {len(requests)} Weibo posts with their conversations a pass; "
        f"beam {settings.beam_size}, top {settings.top_k}"
    )
    header = ["device", "DECODE_BF16", "batch", "path", "requests/s", "× CPU generator", "GPU busy %", "CUDA peak MiB"]
    print(table(header, rows))
    # The CUDA path must answer as the CPU does (float sums differ in order, so a near tie may flip).
    cpu = {name: tops for (device, _, _, name), tops in answers.items() if device == "cpu"}
    for (device, bf16, size, name), tops in answers.items():
        if device == "cuda" and name in cpu:
            same = sum(a == b for a, b in zip(tops, cpu[name]))
            print(
                f"cuda, DECODE_BF16={bf16}, batch {size}, {name}: top {settings.top_k} equal to the CPU's "
                f"for {same} of {len(tops)} posts"
            )


if __name__ == "__main__":
    main()
