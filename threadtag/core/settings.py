"""The one settings object of the project, read from environment variables.

Every tunable number lives here; code receives values from a `Settings`
instance instead of defining its own constants. The README lists each variable.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from threadtag.schemas.variants import VARIANTS, Variant


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Log level: DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)."
    )
    log_format: Literal["console", "json"] = Field("console", description="console for people, json for log shippers.")

    # Observability
    metrics_port: int = Field(
        9100, ge=0, le=65535, description="Port of a worker's Prometheus /metrics endpoint; 0 = none."
    )
    metrics_host: str = Field(
        "127.0.0.1", description="Address the metrics endpoint listens on (0.0.0.0: every interface, as in compose)."
    )
    metrics_lag_interval_seconds: float = Field(15.0, gt=0, description="How often consumer lag is measured.")

    # Runtime
    model_path: Path | None = Field(
        None, description="Checkpoint to serve; unset = train/choose one as the command says."
    )
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto = CUDA when available, else CPU.")
    torch_threads: int = Field(
        0, ge=0, description="CPU threads for torch, retrieval and the reranker; 0 = torch's default (all cores)."
    )

    # Kafka and the stream
    kafka_bootstrap_servers: str | None = Field(
        None, description="host:port[,host:port]; unset = start the embedded Tansu broker on a free local port."
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="How the Kafka clients connect (managed clusters want SASL_SSL)."
    )
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = Field(
        "PLAIN", description="SASL mechanism (SASL_* protocols)."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password (never logged).")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle for the broker's certificate; unset = system CAs."
    )
    kafka_ssl_certfile: Path | None = Field(None, description="Client certificate (mutual TLS).")
    kafka_ssl_keyfile: Path | None = Field(None, description="Client certificate's key.")
    kafka_partitions: int = Field(3, gt=0, description="Partitions of the topics the project creates.")
    kafka_replication_factor: int = Field(1, gt=0)
    kafka_session_timeout_s: float = Field(10.0, gt=0, description="Consumer-group session timeout.")
    kafka_heartbeat_interval_s: float = Field(2.0, gt=0)
    kafka_request_timeout_s: float = Field(
        10.0,
        ge=1,
        description="A consumer's request with no answer this long fails and its connection is cut. kafka-python "
        "spins while a request to an unreachable broker is pending, growing by megabytes a second: "
        "this bounds it.",
    )
    kafka_max_poll_interval_s: float = Field(
        300.0,
        gt=0,
        description="A consumer that does not poll this long leaves its group (workers poll on "
        "through database outages).",
    )
    kafka_producer_max_batch_bytes: int | None = Field(None, description="Producer batch size; unset = the client's.")
    tweets_topic: str = Field("tweets", description="Raw posts in.")
    requests_topic: str = Field("annotation-requests", description="Annotation requests out, keyed by root id.")
    dead_letter_topic: str = Field("tweets-dlq", description="Messages that could not be used, with the reason.")
    stream_app_id: str = Field("threadtag-stream", description="Faust app id = the stream workers' consumer group.")
    stream_data_dir: Path = Field(Path("runs/stream"), description="Faust's local data directory.")
    stream_tick_seconds: float = Field(1.0, gt=0, description="How often timers look for due requests and orphans.")
    stream_batch_size: int = Field(1000, gt=0, description="Most raw records a stream worker takes per transaction.")
    stream_batch_wait_ms: int = Field(
        50, gt=0, description="Longest a stream worker waits for its batch to fill (latency at low rates)."
    )
    stream_batches_ahead: int = Field(
        2, gt=0, description="Batches a stream worker takes and normalizes ahead of the one it is storing."
    )
    stream_timer_batch: int = Field(1000, gt=0, description="Most due conversations or orphans per timer tick.")
    dropped_posts_keep_seconds: float = Field(
        7 * 86400.0,
        gt=0,
        description="How long the ids of dropped and dead-lettered posts are kept, so that an orphaned reply's "
        "dead letter says what became of its parent.",
    )
    stream_parked_count_seconds: float = Field(
        15.0,
        ge=0,
        description="How often a stream worker counts the parked replies for threadtag_stream_parked_posts "
        "(0: every tick). The count reads every parked row, and the dead versions resolved ones leave until "
        "VACUUM: 89 ms a tick at the end of a 200,000-post backlog.",
    )
    stream_resend_after_seconds: float = Field(
        30.0, gt=0, description="A request decided but not acknowledged by the broker this long ago is sent again."
    )
    stream_event_loop: Literal["uvloop", "asyncio"] = Field(
        "uvloop",
        description="The stream worker's event loop: uvloop does faust's and the database's per-record work in "
        "less CPU; asyncio is Python's own.",
    )
    stream_fetch_max_wait_ms: int = Field(
        100,
        gt=0,
        description="Longest a stream worker's fetch waits at the broker for records (faust alone: 1500); "
        "what a post waits for its worker on a quiet stream.",
    )
    max_message_bytes: int = Field(262_144, gt=0, description="Larger raw messages go to the dead-letter topic.")
    replay_send_timeout_seconds: float = Field(
        60.0, gt=0, description="`replay` gives up when the broker takes nothing this long (and says how much it took)."
    )
    post_id_max_chars: int = Field(
        64, gt=0, le=1000, description="Longer post ids are dead letters (an index row holds at most ~2,700 bytes)."
    )
    dead_letter_payload_max_bytes: int = Field(
        524_288,
        gt=0,
        le=700_000,
        description="Payload bytes kept in a dead letter; base64 makes them 4/3 as many, which must stay under the "
        "broker's 1 MB message limit.",
    )
    orphan_ttl_seconds: float = Field(
        3600.0, gt=0, description="A reply whose parent never arrives expires after this."
    )
    annotate_every_replies: int = Field(
        5, gt=0, description="New replies that make a conversation worth re-annotating."
    )
    annotate_quiet_seconds: float = Field(2.0, ge=0, description="... once no reply came for this long (debounce).")
    conversation_close_seconds: float = Field(300.0, gt=0, description="Quiet time after which the final request goes.")

    # PostgreSQL
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; unset = DATABASE_NAME on the local server if it answers, else embedded."
    )
    local_database_url: str = Field(
        "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
        description="The local server tried when DATABASE_URL is unset (a database on it to connect to first).",
    )
    database_name: str = Field(
        "threadtag",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="With DATABASE_URL unset: the database created and used on the local or embedded server.",
    )
    run_database_name: str = Field(
        "threadtag_run",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="With DATABASE_URL unset: `threadtag run`'s own database, emptied at the start of each run.",
    )
    embedded_pg_dir: Path = Field(Path("runs/postgres"), description="Data directory of the embedded PostgreSQL.")

    run_close_seconds: float = Field(
        5.0, gt=0, description="CONVERSATION_CLOSE_SECONDS inside `threadtag run`: its replayed stream is finished."
    )

    # Inference workers
    infer_group_id: str = Field("threadtag-inference", description="Consumer group of the inference workers.")
    infer_batch_size: int = Field(32, gt=0, description="Most requests per batch.")
    generator_memo_size: int = Field(
        20_000, ge=0, description="Recent inputs whose beams an inference worker keeps (not decoded again)."
    )
    text_memo_size: int = Field(
        50_000,
        ge=0,
        description="Posts and replies whose tokens an inference worker keeps: a post is prepared for every "
        "request naming it and when the live index learns it, and is not cut by jieba again.",
    )
    infer_batch_wait_ms: int = Field(200, ge=0, description="Longest wait for a batch to fill after its first request.")
    db_max_backoff_seconds: float = Field(30.0, gt=0, description="Longest wait between database retries.")
    shutdown_timeout_seconds: float = Field(
        10.0, gt=0, description="A worker still busy this long after SIGTERM exits anyway (uncommitted work is redone)."
    )
    infer_follow_active: bool = Field(
        True, description="Workers switch to the active model version when it changes (false = keep their own)."
    )
    infer_reload_check_seconds: float = Field(
        5.0, gt=0, description="How often a worker asks the database which version is active (between batches)."
    )

    # Text preparation and vocabulary
    vocab_size_en: int = Field(30_000, gt=4, description="Vocabulary size for English models.")
    vocab_size_zh: int = Field(50_000, gt=4, description="Vocabulary size for Chinese models.")
    post_max_len_en: int = Field(35, gt=0, description="Post tokens kept, Twitter/English.")
    post_max_len_zh: int = Field(50, gt=0, description="Post tokens kept, Weibo/Chinese.")
    conv_max_len: int = Field(100, gt=0, description="Conversation tokens kept.")
    tag_max_len: int = Field(10, gt=0, description="Hashtag words kept in training targets.")

    # Model (paper, section 3)
    model_variant: Variant = Field("full", description=", ".join(VARIANTS) + ".")
    embed_dim: int = Field(200, gt=0)
    hidden_size: int = Field(300, gt=0, description="d: size of h, v and the decoder state (150 per direction).")
    encoder_layers: int = Field(1, gt=0)
    dropout: float = Field(0.3, ge=0.0, lt=1.0)
    shared_encoder: bool = Field(True, description="One Bi-GRU reads both the post and the conversation.")
    bi_attention_score: Literal["bilinear", "dot"] = Field(
        "bilinear", description="Bi-attention score: bilinear h_p W h_c (paper, eq. 3) or dot h_p . h_c."
    )
    input_feeding: bool = Field(
        True, description="Luong decoder: tanh(W[c; s]) feeds the output layer and the next step's input."
    )
    init_range: float = Field(0.1, ge=0, description="Every weight starts uniform in +-this; 0 = PyTorch's defaults.")
    output_vocab: Literal["all", "hashtag"] = Field(
        "hashtag", description="Output layer over the whole vocabulary or over the words of training hashtags."
    )
    vocab_min_freq: int = Field(1, gt=0, description="Post/conversation words seen fewer times become <unk>.")

    # Training
    train_lr: float = Field(1e-3, gt=0)
    train_batch_size: int = Field(64, gt=0)
    train_grad_clip: float = Field(1.0, gt=0)
    train_lr_decay: float = Field(0.5, gt=0, le=1, description="Learning-rate factor on decay; 1 = a constant rate.")
    train_min_lr: float = Field(1e-6, gt=0, description="Stop once the halved learning rate falls below this.")
    train_patience: int = Field(3, gt=0, description="Epochs without a better dev loss before stopping.")
    train_max_epochs: int = Field(15, gt=0)
    train_schedule: Literal["early_stop", "fixed"] = Field(
        "fixed",
        description="early_stop: keep the best dev loss, stop after TRAIN_PATIENCE; fixed: TRAIN_MAX_EPOCHS "
        "epochs, the rate halved each epoch once the dev loss rose, keep the last.",
    )
    train_seed: int = Field(13)
    weibo_dev_lines: int = Field(400, gt=0, description="The last N lines of the Weibo files are the dev split.")

    # The small model trained on the bundled sample when no checkpoint is given (demo, tests)
    sample_embed_dim: int = Field(64, gt=0)
    sample_hidden_size: int = Field(64, gt=0)
    sample_encoder_layers: int = Field(1, gt=0)
    sample_train_epochs: int = Field(40, gt=0)
    sample_train_batch_size: int = Field(8, gt=0)
    sample_train_lr: float = Field(5e-3, gt=0)
    sample_dev_threads: int = Field(3, gt=0, description="Last sample threads kept out of training.")

    # Retraining from the stream (`threadtag retrain`)
    model_dir: Path = Field(Path("runs/models"), description="Where retrained checkpoints are written.")
    retrain_lang: Literal["en", "zh"] | None = Field(
        None, description="Language to train on; unset = the active model's, else en."
    )
    retrain_holdout_fraction: float = Field(
        0.1, gt=0, lt=0.5, description="Newest share of the examples held out for the gate."
    )
    retrain_dev_fraction: float = Field(
        0.1, gt=0, lt=0.5, description="Share before the held-out set used as the dev set (early stopping)."
    )
    retrain_min_examples: int = Field(20, gt=2, description="Fewer usable examples: the run trains nothing.")
    retrain_max_epochs: int = Field(10, gt=0)
    retrain_f1_tolerance: float = Field(
        0.005, ge=0, description="A new model is activated unless its F1@1 (0..1) is below the active one's by more."
    )
    retrain_warm_start: bool = Field(True, description="Start from the active model when its vocabulary allows.")
    retrain_min_vocab_coverage: float = Field(
        0.9, ge=0, le=1, description="... i.e. when it knows at least this share of the training tokens."
    )
    retrain_skip_retweets: bool = Field(True, description="Leave retweets out of the training set.")
    retrain_deduplicate: bool = Field(True, description="Keep only the oldest of posts with the same text and tags.")
    retrain_empty_conversations: Literal["skip", "keep"] = Field(
        "skip", description="Posts without replies: skip them, or keep them with an empty conversation."
    )
    retrain_window_days: float | None = Field(
        None, gt=0, description="Train only on root posts of the last this many days; unset = all stored."
    )
    retrain_keep_rejected: bool = Field(False, description="Keep the checkpoint file of a model the gate rejected.")

    # Baselines of `threadtag compare` (paper, section 3)
    tfidf_max_n: int = Field(5, gt=0, description="Longest post n-gram TF-IDF ranks.")
    lda_topics: int = Field(50, gt=1, description="LDA topics.")
    lda_max_iter: int = Field(20, gt=0, description="LDA variational passes.")
    classifier_filters: int = Field(200, gt=0, description="Convolution filters of the CNN classifier.")
    classifier_window: int = Field(3, gt=0, description="Convolution width (words).")
    extractor_hidden_size: int = Field(300, gt=0, description="Bi-GRU size of the EXTRACTOR tagger.")
    baseline_epochs: int = Field(
        10, gt=0, description="Epochs of the CNN classifiers and the EXTRACTOR (best by dev loss)."
    )
    baseline_batch_size: int = Field(64, gt=0)
    baseline_lr: float = Field(1e-3, gt=0)

    explain_font: Path | None = Field(
        None, description="Font file for `explain` heatmaps; unset = an installed CJK font when words need one."
    )

    # Decoding
    beam_size: int = Field(20, gt=0)
    beam_max_len: int = Field(10, gt=0, description="Most words in a generated hashtag.")
    top_k: int = Field(5, gt=0, description="Hashtags returned per post (at most BEAM_SIZE).")
    beam_block_repeats: bool = Field(True, description="A word never appears twice in one generated hashtag.")
    decode_bf16: bool = Field(
        False, description="Decode with a bf16 output layer: faster only on CPUs/GPUs with bf16 units."
    )
    predict_batch_size: int = Field(64, gt=0, description="Posts per beam-search batch in evaluate/predict.")

    # The hybrid ranker (what users see): retrieval votes + the generator's beam + the inventory, reranked
    hybrid: bool = Field(True, description="Train and serve the hybrid ranker; false = the generator alone.")
    hybrid_generator_folds: int = Field(
        0,
        ge=0,
        description="Generators trained on folds of the training data so the reranker learns from their "
        "beams on posts they did not see (0 = the reranker learns without the generator's features).",
    )
    hybrid_vote_candidates: int = Field(20, gt=0, description="Heaviest retrieval votes that become candidates.")
    hybrid_beam_size: int = Field(
        10,
        gt=0,
        description="Beam width of the generator inside the hybrid path (the generator alone keeps BEAM_SIZE); "
        "10 and 20 scored alike under 5-fold CV and 10 decodes about 1.5 times as fast.",
    )
    hybrid_decode: Literal["always", "short"] = Field(
        "short",
        description="When the hybrid path runs beam search: for every post, or only for posts whose votes and "
        "inventory give fewer than TOP_K candidates (short). On the Weibo dev split no post is short (15 "
        "candidates at least): F1@1 28.06 against 27.98 always, over 3 seeds, and 4.9 times the requests/s "
        "with 100,000 posts indexed; a post little like any indexed one still gets the generator's hashtags.",
    )
    hybrid_beam_candidates: int = Field(
        5,
        ge=0,
        description="Generator hashtags that become candidates (<= BEAM_SIZE); more than TOP_K makes beam "
        "search run longer (5 and 10 scored alike under 5-fold CV); 0: the generator does not run where the "
        "reranker does not use its features (the hybrid without the generator).",
    )
    hybrid_spelled_candidates: int = Field(
        20,
        ge=0,
        description="Inventory hashtags whose words all occur in the post or conversation (most common first).",
    )
    hybrid_conv_tokens: int = Field(
        1_000,
        ge=0,
        description="Conversation tokens retrieval and the reranker read (0: all); kept in the checkpoint. "
        "Replies past it (and past CONV_MAX_LEN) cannot change an answer: a request reads no more, and the "
        "stream sends no growth request once a conversation has that many replies.",
    )
    retrieval_neighbours: int = Field(100, gt=0, description="Most similar labelled posts that vote.")
    retrieval_conv_weight: float = Field(1.0, ge=0, description="Weight of the post + conversation similarity.")
    retrieval_vote_power: float = Field(2.0, gt=0, description="A neighbour's vote is its similarity to this power.")
    retrieval_capacity: int = Field(200_000, gt=0, description="Most labelled posts a live index holds (oldest go).")
    retrieval_postings_per_word: int = Field(
        2_000, ge=0, description="A search reads, per word, the indexed posts where it weighs most (0: all)."
    )
    retrieval_query_terms: int = Field(
        256,
        ge=0,
        description="A search reads the postings of a query's this many heaviest terms (words and n-grams; 0: all).",
    )
    retrieval_char_ngrams: int = Field(
        2,
        ge=0,
        description="Character 1- to n-grams beside the words in retrieval's TF-IDF (0: words alone). "
        "Cross-validated on Weibo: hybrid F1@1 +1.6 over 5 folds against words alone.",
    )
    retrieval_char_weight: float = Field(
        1.5, gt=0, description="The character n-grams' part of a TF-IDF vector against the words' part."
    )
    reranker_trees: int = Field(300, gt=0, description="Boosting rounds of the LightGBM lambdarank reranker.")
    reranker_learning_rate: float = Field(0.05, gt=0)
    reranker_leaves: int = Field(15, gt=1)
    reranker_min_queries: int = Field(
        50, gt=0, description="Training posts with their gold among the candidates needed to learn a reranker."
    )
    inventory_path: Path | None = Field(
        None, description="Tag lines (tag.txt form, e.g. Weibo inventory_tag.txt) added to the hashtag inventory."
    )
    live_quality_window: int = Field(
        1000, gt=0, description="Labelled roots the threadtag_live_f1 gauges average over (per worker)."
    )
    train_warn_below_examples: int = Field(
        500, ge=0, description="`train` warns when it has fewer training examples than this."
    )
    progress_log_seconds: float = Field(
        60.0, ge=0, description="Workers log what they did every this many seconds (0: only when they stop)."
    )
    broker_lost_exit_seconds: float = Field(
        60.0,
        ge=0,
        description="A worker whose broker has not answered this long leaves as BROKER_LOST_ACTION says; 0: never.",
    )
    broker_lost_action: Literal["restart", "exit"] = Field(
        "restart",
        description="restart: a worker that lost its broker (or whose sends failed) replaces itself with a fresh "
        "process that waits for the broker; exit: it exits (code 3) for its supervisor to restart it.",
    )
    broker_wait_seconds: float = Field(
        0.0,
        ge=0,
        description="How long a starting worker waits for its broker before it fails with one line (a worker "
        "restarting itself waits without limit).",
    )
    doctor_check_timeout_seconds: float = Field(
        15.0, gt=0, description="`doctor`: a check that takes longer fails, saying so."
    )
    index_refresh_seconds: float = Field(
        5.0, ge=0, description="How often an inference worker adds newly stored labelled posts to its index (0: never)."
    )

    @field_validator("database_url", "local_database_url")
    @classmethod
    def _psycopg_driver(cls, value: str | None) -> str | None:
        """postgres:// and postgresql:// (what hosting services print) mean the psycopg 3 driver;
        postgresql+psycopg2:// is taken where psycopg2 is installed (the psycopg2 extra)."""
        if value is None:
            return None
        for scheme in ("postgres://", "postgresql://"):
            if value.startswith(scheme):
                return "postgresql+psycopg://" + value[len(scheme) :]
        if value.startswith("postgresql+psycopg2://") and importlib.util.find_spec("psycopg2") is None:
            raise ValueError(
                "postgresql+psycopg2:// needs psycopg2: pip install 'threadtag[psycopg2]', or write postgresql://"
            )
        if not value.startswith(("postgresql+psycopg://", "postgresql+psycopg2://")):
            raise ValueError("a PostgreSQL URL: postgresql://, postgresql+psycopg:// or postgresql+psycopg2://")
        return value

    @field_validator("inventory_path")
    @classmethod
    def _inventory_file(cls, value: Path | None) -> Path | None:
        """Checked here, not after a training of hours that would then fail on it."""
        if value is not None and not value.is_file():
            raise ValueError(f"no file {value} (a tag-line file, e.g. ../shared/data/weibo/inventory_tag.txt)")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _top_k_within_the_beam(self) -> Settings:
        if self.top_k > self.beam_size:
            raise ValueError(
                f"TOP_K ({self.top_k}) must not exceed BEAM_SIZE ({self.beam_size}): the beam holds the hashtags"
            )
        return self

    def progress_bars(self, wanted: bool = True) -> bool:
        """Progress bars when asked, on a terminal only, and never under LOG_FORMAT=json
        (a log shipper reads every stderr line as JSON)."""
        return wanted and self.log_format != "json" and sys.stderr.isatty()

    def to_env(self) -> dict[str, str]:
        """These settings as environment variables, for child processes."""

        def text(value: object) -> str:
            return value.get_secret_value() if isinstance(value, SecretStr) else str(value)

        return {name.upper(): text(value) for name, value in self.model_dump().items() if value is not None}

    def namespaced(self, suffix: str) -> Settings:
        """A copy whose topics and consumer groups end in `-suffix`: pipelines that share a
        cluster (staging beside production, a benchmark, a test) without sharing data."""
        fields = ("tweets_topic", "requests_topic", "dead_letter_topic", "stream_app_id", "infer_group_id")
        update = {name: f"{getattr(self, name)}-{suffix}" for name in fields}
        return self.model_copy(update=update)

    def vocab_size(self, lang: str) -> int:
        return self.vocab_size_zh if lang == "zh" else self.vocab_size_en

    def post_max_len(self, lang: str) -> int:
        return self.post_max_len_zh if lang == "zh" else self.post_max_len_en


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter inserted, deleted or replaced turns `a` into `b`."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b)) == 1
    short, long = sorted((a, b), key=len)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


def misspelled(environ: Mapping[str, str]) -> dict[str, str]:
    """Environment variables that look like one of ours but are not (one edit away, or the
    start of one's name): name -> the variable meant. A misspelled setting is otherwise
    silently ignored and its default used."""
    ours = [name.upper() for name in Settings.model_fields]
    found = {}
    for name in environ:
        if name in ours or len(name) < 6:
            continue
        meant = [o for o in ours if _one_edit_apart(name, o) or (o.startswith(name) and "_" in name)]
        if meant:
            found[name] = meant[0]
    return found
