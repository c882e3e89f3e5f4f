"""`retrain` against the real PostgreSQL (and, end to end, the real broker and workers):
the gate, the one-trainer lock, and workers switching to the new version."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from tests.helpers.paths import ROOT, SAMPLE_THREADS
from tests.helpers.streaming import store_threads, stream_env, stream_worker, wait_for
from threadtag.app.processes import CommandProcess
from threadtag.app.retrain import retrain_once
from threadtag.app.schema import migrate
from threadtag.core.settings import Settings
from threadtag.models.checkpoint import Checkpoint
from threadtag.pipeline.replay import replay
from threadtag.workers.model_registry import active_model, register_model_version
from threadtag.workers.retraining import trainer_lock

pytestmark = pytest.mark.slow

# Small models, and a held-out set large enough to include posts the sample model learned.
SMALL = {"EMBED_DIM": "32", "HIDDEN_SIZE": "32", "ENCODER_LAYERS": "1", "RETRAIN_HOLDOUT_FRACTION": "0.3"}


def _versions(engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM model_versions ORDER BY created_at")).mappings().all()
    return [dict(r) for r in rows]


@pytest.fixture
def stored_sample(database_url, sample_model, tmp_path):
    """A database holding copies of the sample threads (new ids: the bundled ones are never
    trained on), with the sample model active; its engine."""
    migrate(database_url)
    engine = create_engine(database_url)
    store_threads(engine, _later_copy(SAMPLE_THREADS, tmp_path, "3"))
    register_model_version(engine, _version(sample_model), str(sample_model), {}, "always", decision="registered")
    yield engine
    engine.dispose()


def _version(path) -> str:
    return Checkpoint.load(path).version


def _settings(tmp_path, **overrides) -> Settings:
    env = {k.lower(): v for k, v in SMALL.items()}
    return Settings(model_dir=tmp_path / "models", **{**env, **overrides})


def test_a_worse_model_is_rejected_and_the_active_one_stays(stored_sample, sample_model, tmp_path):
    # One epoch from scratch cannot match the sample model on posts it was trained on (the
    # generators compared: the hybrid's retrieval would find the copies' twins in either index).
    settings = _settings(
        tmp_path, retrain_max_epochs=1, retrain_warm_start=False, retrain_f1_tolerance=0.0, hybrid=False
    )
    outcome = retrain_once(settings, stored_sample, progress=False)
    assert outcome.decision == "rejected"
    assert active_model(stored_sample).version == _version(sample_model)
    new = _versions(stored_sample)[-1]
    assert new["version"] == outcome.version and not new["active"] and new["decision"] == "rejected"
    assert new["metrics"]["heldout"]["f1_at_1"] < new["metrics"]["compared_with"]["heldout"]["f1_at_1"]
    assert new["metrics"]["compared_with"]["version"] == _version(sample_model)
    assert new["training_data"]["used"] == 24 and new["training_data"]["heldout"] == 8
    assert new["parent_version"] is None and new["train_examples"] == 24 - 8 - 3
    # Its scores stay in the row; its checkpoint file does not (RETRAIN_KEEP_REJECTED=false).
    assert not new["metrics"]["checkpoint_kept"] and not (tmp_path / "models" / f"{outcome.version}.pt").exists()


def test_a_model_within_the_tolerance_is_activated_from_the_active_one(stored_sample, sample_model, tmp_path):
    settings = _settings(tmp_path, retrain_max_epochs=2, retrain_f1_tolerance=1.0)
    outcome = retrain_once(settings, stored_sample, progress=False)
    assert outcome.decision == "activated"
    row = _versions(stored_sample)[-1]
    assert row["active"] and row["activated_at"] is not None and row["decision"] == "activated"
    # The sample vocabulary covers the sample threads: training continued from the active model.
    assert row["parent_version"] == _version(sample_model)
    assert (tmp_path / "models" / f"{outcome.version}.pt").is_file() and row["metrics"]["checkpoint_kept"]


def test_too_little_data_trains_nothing(stored_sample, tmp_path):
    outcome = retrain_once(_settings(tmp_path, retrain_min_examples=25), stored_sample, progress=False)
    assert outcome.decision == "skipped" and "24 usable examples" in outcome.reason
    assert len(_versions(stored_sample)) == 1


def _retrain_command(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "threadtag.cli", "retrain", "--no-progress"],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_retrain_that_finds_another_running_trains_nothing(stored_sample, database_url, tmp_path):
    env = {**SMALL, "DATABASE_URL": database_url, "MODEL_DIR": str(tmp_path), "RETRAIN_MAX_EPOCHS": "1"}
    with trainer_lock(stored_sample) as held:  # this test plays the trainer that is running
        assert held
        out, err = _retrain_command(env).communicate(timeout=120)
        assert out.startswith("skipped:") and "another retrain is running" in out, err[-2000:]
    assert len(_versions(stored_sample)) == 1
    out, err = _retrain_command(env).communicate(timeout=120)
    assert out.split(":")[0] in ("activated", "rejected"), err[-2000:]
    assert len(_versions(stored_sample)) == 2


def test_two_concurrent_retrains_do_not_both_train(stored_sample, database_url, tmp_path):
    # From scratch at the paper's sizes: a run lasts far longer than the two starts differ.
    env = {
        "DATABASE_URL": database_url,
        "MODEL_DIR": str(tmp_path),
        "RETRAIN_WARM_START": "false",
        "RETRAIN_MAX_EPOCHS": "30",
        "TRAIN_PATIENCE": "30",
    }
    runs = [_retrain_command(env) for _ in range(2)]
    outputs = [run.communicate(timeout=300) for run in runs]
    decisions = sorted(out.split(":")[0] for out, _ in outputs)
    assert decisions in (["activated", "skipped"], ["rejected", "skipped"]), [err[-1500:] for _, err in outputs]
    assert len(_versions(stored_sample)) == 2


def _later_copy(path, tmp_path, id_prefix: str):
    """The sample threads again as new posts: new ids, a day later, each root's text reworded
    (a prefix): the stream's new data, not the posts the sample model trained on."""
    out = tmp_path / f"threads-{id_prefix}.jsonl"
    with out.open("w") as handle:
        for line in path.read_text().splitlines():
            tweet = json.loads(line)
            tweet["id_str"] = id_prefix + tweet["id_str"]
            if tweet["in_reply_to_status_id_str"]:
                tweet["in_reply_to_status_id_str"] = id_prefix + tweet["in_reply_to_status_id_str"]
            tweet["created_at"] = tweet["created_at"].replace("Mon Mar 02", "Tue Mar 03")
            if not tweet["in_reply_to_status_id_str"]:
                tweet["text"] = f"Day {id_prefix}: {tweet['text']}"
            handle.write(json.dumps(tweet) + "\n")
    return out


def test_stream_retrain_and_workers_switch_to_the_new_version(broker, database_url, sample_model, tmp_path):
    env = stream_env(broker, tmp_path, database_url, conversation_close_seconds=3)
    env.update(
        {
            **SMALL,
            "MODEL_PATH": str(sample_model),
            "INFER_BATCH_WAIT_MS": "100",
            "INFER_RELOAD_CHECK_SECONDS": "0.5",
            "MODEL_DIR": str(tmp_path / "models"),
            "RETRAIN_F1_TOLERANCE": "1.0",
            "RETRAIN_MAX_EPOCHS": "2",
        }
    )
    workers = [stream_worker(env, tmp_path / "stream.log"), CommandProcess(["infer"], env, tmp_path / "infer.log")]
    for worker in workers:
        worker.start()
    engine = create_engine(database_url)

    def annotated_by(prefix: str) -> dict[str, set[str]]:
        query = text("SELECT root_id, model_version FROM annotations WHERE root_id LIKE :p")
        with engine.connect() as conn:
            try:
                rows = conn.execute(query, {"p": prefix + "%"}).all()
            except Exception:  # noqa: BLE001 - tables appear once a worker has migrated
                return {}
        found: dict[str, set[str]] = {}
        for root, version in rows:
            found.setdefault(root, set()).add(version)
        return found

    def stored_posts() -> int:
        with engine.connect() as conn:
            try:
                return int(conn.execute(text("SELECT count(*) FROM posts")).scalar())
            except Exception:  # noqa: BLE001
                return 0

    try:
        # The bundled sample replayed as well (as `threadtag run` does): retrain leaves it out.
        replay(SAMPLE_THREADS, broker, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        first_copy = _later_copy(SAMPLE_THREADS, tmp_path, "4")
        replay(first_copy, broker, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(lambda: len(annotated_by("49")) == 24, 180, "24 annotated threads", tmp_path / "infer.log")
        wait_for(lambda: stored_posts() == 192, 60, "192 stored posts", tmp_path / "stream.log")
        first = active_model(engine).version

        result = subprocess.run(
            [sys.executable, "-m", "threadtag.cli", "retrain", "--no-progress"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.stdout.startswith("activated:"), result.stderr[-3000:]
        new = result.stdout.split()[1]
        row = next(r for r in _versions(engine) if r["version"] == new)
        # 8 held out, all scored: the copies are reworded, so the sample model trained on none of them.
        assert row["active"] and row["training_data"]["heldout"] == 8 and row["training_data"]["used"] == 24
        assert row["training_data"]["skipped"]["bundled_sample"] == 24
        assert row["metrics"]["heldout"]["posts"] == 8 and row["training_data"]["gate"] == 8
        assert row["metrics"]["compared_with"]["version"] == first

        later = _later_copy(SAMPLE_THREADS, tmp_path, "2")
        replay(later, broker, env["TWEETS_TOPIC"], None, 262_144, 1, progress=False)
        wait_for(
            lambda: len(annotated_by("29")) == 24, 180, "24 threads annotated after the switch", tmp_path / "infer.log"
        )
    finally:
        for worker in workers:
            worker.stop()
    assert set().union(*annotated_by("29").values()) == {new}
    # (final requests of the first threads may have come after the switch)
    assert all(first in versions for versions in annotated_by("49").values())
    assert "switched model" in (tmp_path / "infer.log").read_text()
    engine.dispose()


def test_a_worker_keeps_serving_when_the_active_file_cannot_be_loaded(stored_sample, sample_model):
    from threadtag.app import recipes
    from threadtag.workers.inference import ServedModel

    settings = Settings()
    served = ServedModel(
        stored_sample, recipes.predictor(sample_model, settings), lambda p: recipes.predictor(p, settings), 0.0, True
    )
    first = served.version
    assert not served.refresh()  # the active version is the one it serves
    register_model_version(stored_sample, "gone", "/nowhere/model.pt", {}, "always")
    assert not served.refresh() and served.version == first
    register_model_version(stored_sample, first, str(sample_model), {}, "always")
    assert not served.refresh()
    never = lambda _: pytest.fail("a pinned worker loads nothing")  # noqa: E731
    pinned = ServedModel(stored_sample, served.predictor, never, 0, False)
    register_model_version(stored_sample, "gone", "/nowhere/model.pt", {}, "always")
    assert not pinned.refresh()


def test_no_new_data_trains_nothing(database_url, sample_model, tmp_path):
    # The stream holds copies of the very posts the sample model trained on (and its 3 dev threads).
    migrate(database_url)
    engine = create_engine(database_url)
    copies = tmp_path / "same-text.jsonl"
    copies.write_text(_later_copy(SAMPLE_THREADS, tmp_path, "3").read_text().replace("Day 3: ", ""))
    store_threads(engine, copies)
    register_model_version(engine, _version(sample_model), str(sample_model), {}, "always", decision="registered")
    settings = _settings(tmp_path, retrain_holdout_fraction=0.15, retrain_dev_fraction=0.15)
    outcome = retrain_once(settings, engine, progress=False)
    engine.dispose()
    assert outcome.decision == "skipped" and outcome.reason.startswith("no new data"), outcome.reason


def test_a_model_no_better_than_the_most_frequent_hashtags_is_not_activated(stored_sample, tmp_path):
    with stored_sample.begin() as conn:  # no active model to beat: only the floor stands in the way
        conn.execute(text("UPDATE model_versions SET active = false"))
    settings = _settings(
        tmp_path, retrain_max_epochs=1, retrain_warm_start=False, hybrid=False, embed_dim=4, hidden_size=4
    )
    outcome = retrain_once(settings, stored_sample, progress=False)
    row = _versions(stored_sample)[-1]
    floor, new = row["metrics"]["most_frequent_baseline"]["f1_at_1"], row["metrics"]["heldout"]["f1_at_1"]
    assert new <= floor and outcome.decision == "rejected" and not row["active"]
    assert "no better than the most frequent hashtags" in outcome.reason
