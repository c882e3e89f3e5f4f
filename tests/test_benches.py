"""Every benchmark script runs, on a tiny input, and prints its table: a change that breaks
one fails here, not on the next person's measurement. Sizes are the smallest that still
take each script through all its phases; the numbers mean nothing. The scripts run a few
at a time (most of their time is waiting on workers and timers)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.models import TINY
from tests.helpers.paths import ROOT
from tests.helpers.weibo_files import write_weibo

pytestmark = pytest.mark.integration  # processes, brokers, databases

# Script -> its arguments ({model}: the sample model, {tmp}: a folder of its own, {weibo}: tiny Weibo files).
ON_TINY_INPUT = {
    "stream_backlog": "--posts 200 --skip without-faust latency",
    "stream_restart": "--runs 1 --posts 200",
    "shuffled_replays": "--runs 1",
    "hostile_mix": "--messages 200 --timeout 120",
    "db_outage": "--outage-seconds 5 --rate 50 --posts 200",
    "broker_partition": "--partition-seconds 5 --restart-delay 1 --every 1",
    "record": "--results {tmp} --name smoke predict_latency --model {model} --runs 1",
    "predict_latency": "--model {model} --runs 1",
    "benchmarks_md": "--check",
    "generator_ablation": "--configs defaults --variants full --seeds 13 --data {weibo} --out {tmp}/runs.jsonl",
    "hybrid_beam_candidates": "--values 5 --seeds 13 --weibo {weibo}",
    "index_window": "--fractions 0.5 1 --weibo {weibo}",
}
# These read the shared Weibo posts: the index they fill, the posts they send or decode.
ON_WEIBO = {
    "inference_throughput": "--model {model} --posts 8 --batch-sizes 1 8",
    "decode_speed": "--models {model} --posts 8",
    "hybrid_cost": "--model {model} --indexed 500 --posts 16 --rounds 1",
    "end_to_end": "--model {model} --threads 20",
    "live_replay": "--model {model} --posts 20",
    "long_thread": "--model {model} --replies 50 --burst 25 --gap 0.1",
}
NO_GPU = {"gpu_inference": "--model {model} --batch-sizes 4 --rounds 1"}  # says so in one line without one
NOT_SCRIPTS = {"__init__", "common", "harness"}
NO_TABLE = {"benchmarks_md"}  # --check says nothing when BENCHMARKS.md is current


def _run_all(scripts: dict[str, str], model: Path, tmp: Path) -> dict[str, subprocess.CompletedProcess[str]]:
    weibo = tmp / "weibo"
    write_weibo(weibo, "", 40, 0)
    # A tiny model for the scripts that train; 8 dev posts of the 40.
    env = {**os.environ, **TINY, "TRAIN_MAX_EPOCHS": "2", "WEIBO_DEV_LINES": "8"}

    def run(script: str) -> subprocess.CompletedProcess[str]:
        own = tmp / script
        own.mkdir()
        args = scripts[script].format(model=model, tmp=own, weibo=weibo).split()
        command = [sys.executable, "-m", f"bench.{script}", *args]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(scripts, pool.map(run, scripts)))


def _failures(done: dict[str, subprocess.CompletedProcess[str]]) -> list[str]:
    return [
        f"{script}: exit {run.returncode}\n{(run.stdout + run.stderr)[-1500:]}"
        for script, run in done.items()
        if run.returncode != 0
        or (script not in NO_TABLE and "|---" not in run.stdout.replace(" ", "").replace(":", ""))
    ]


def test_every_script_of_bench_is_run_here():
    scripts = {p.stem for p in (ROOT / "bench").glob("*.py")} - NOT_SCRIPTS
    assert scripts == set(ON_TINY_INPUT) | set(ON_WEIBO) | set(NO_GPU)


def test_the_stream_and_training_benches_run_on_a_tiny_input(sample_model, tmp_path):
    done = _run_all(ON_TINY_INPUT, sample_model, tmp_path)
    assert not _failures(done), "\n\n".join(_failures(done))
    assert (tmp_path / "record" / "smoke.json").exists()


def test_the_benches_on_the_weibo_posts_run_on_a_tiny_input(sample_model, tmp_path, weibo_dir):
    done = _run_all(ON_WEIBO, sample_model, tmp_path)
    assert not _failures(done), "\n\n".join(_failures(done))
    gpu = _run_all(NO_GPU, sample_model, tmp_path)["gpu_inference"]
    if gpu.returncode:  # a machine without CUDA: one line that says so, no traceback
        assert "torch sees no CUDA device" in gpu.stderr + gpu.stdout and "Traceback" not in gpu.stderr
    else:
        assert not _failures({"gpu_inference": gpu})
