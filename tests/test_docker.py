"""docker/: the compose file agrees with the CLI and the settings (no Docker engine runs here)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import typer.main
import yaml

from tests.helpers.paths import ROOT
from threadtag.cli import app
from threadtag.core.settings import Settings

DOCKER = ROOT / "docker"
_VAR_RE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _compose() -> dict[str, Any]:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def _with_defaults(value: object) -> str:
    """`${VAR:-default}` -> default, as compose does when VAR is unset."""
    return _VAR_RE.sub(lambda m: m.group(2) or "", str(value))


def _project_services() -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _compose()["services"].items() if "build" in s}


def test_every_service_command_is_a_threadtag_command_with_its_options():
    commands: dict[str, click.Command] = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    services = _project_services()
    assert {"topics", "migrate", "model-init", "stream", "infer", "infer-gpu", "retrain"} <= set(services)
    for name, service in services.items():
        args = [_with_defaults(a) for a in service["command"]]
        assert args[0] in commands, f"{name}: no command {args[0]!r}"
        options = {opt for p in commands[args[0]].params for opt in (*p.opts, *p.secondary_opts)}
        unknown = [a for a in args[1:] if a.startswith("--") and a not in options]
        assert not unknown, f"{name}: {args[0]} has no option {unknown}"


def test_every_environment_variable_of_a_service_is_a_setting():
    known = {field.upper() for field in Settings.model_fields}
    for name, service in _project_services().items():
        unknown = set(service["environment"]) - known
        assert not unknown, f"{name} sets {unknown}, which no setting reads"
        for key, value in service["environment"].items():  # each value is valid for its setting
            Settings(**{key.lower(): _with_defaults(value)})


def test_kafka_runs_in_kraft_mode_with_the_partitions_the_project_creates():
    compose = _compose()
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert "controller" in kafka["environment"]["KAFKA_PROCESS_ROLES"]
    env = _project_services()["topics"]["environment"]
    assert kafka["environment"]["KAFKA_NUM_PARTITIONS"] == env["KAFKA_PARTITIONS"]
    assert compose["services"]["postgres"]["volumes"]
    # Host clients (replay from a laptop) get an advertised address they can reach; the
    # services keep the compose-network one.
    advertised = kafka["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert "PLAINTEXT://kafka:9092" in advertised and "EXTERNAL://localhost:" in advertised
    assert any(port.endswith(":29092") for port in kafka["ports"])


def test_workers_have_health_checks_restart_policies_and_gpu_reservations():
    services = _project_services()
    for name in ("stream", "infer", "infer-gpu"):
        assert "9100" in " ".join(services[name]["healthcheck"]["test"]) and services[name]["restart"]
        assert services[name]["deploy"]["replicas"]
    gpu = services["infer-gpu"]
    assert gpu["profiles"] == ["gpu"] and services["infer"]["profiles"] == ["cpu"]
    assert gpu["deploy"]["resources"]["reservations"]["devices"][0]["capabilities"] == ["gpu"]
    assert gpu["build"]["dockerfile"] == "docker/Dockerfile.gpu"


def test_dockerfiles_run_the_cli_as_a_user_other_than_root():
    for name in ("Dockerfile", "Dockerfile.gpu"):
        text = (DOCKER / name).read_text()
        users = re.findall(r"^USER (\S+)", text, flags=re.M)
        assert users and users[-1] not in ("root", "0"), name
        assert 'ENTRYPOINT ["threadtag"]' in text
        for source in re.findall(r"^COPY (\S+) ", text, flags=re.M):
            assert (ROOT / source).exists(), f"{name} copies {source}, which is not in the repository"


def test_docker_readme_documents_every_variable_the_compose_file_reads():
    used = set(_VAR_RE.findall((DOCKER / "compose.yaml").read_text()))
    readme = (DOCKER / "README.md").read_text()
    missing = sorted(var for var, _ in used if f"`{var}`" not in readme)
    assert not missing, f"docker/README.md does not document {missing}"


def test_paths_in_the_compose_file_exist():
    for service in _project_services().values():
        assert (DOCKER / service["build"]["context"] / service["build"]["dockerfile"]).resolve().is_file()
    assert Path(ROOT / ".dockerignore").is_file()


def _exported_series() -> set[str]:
    """Every series name the workers export: the metric table of docs/operations.md with Prometheus' suffixes."""
    readme = (ROOT / "docs" / "operations.md").read_text()
    families = set(re.findall(r"^\| `(threadtag_\w+)` \| (\w+)", readme, flags=re.M))
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "gauge": ("",)}
    return {name + suffix for name, kind in families for suffix in suffixes[kind]}


def _metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bthreadtag_\w+", expr))


def test_the_dashboard_and_the_alert_rules_query_only_metrics_the_workers_export():
    exported = _exported_series()
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "threadtag.json").read_text())
    assert dashboard["uid"] and dashboard["schemaVersion"] >= 36 and dashboard["panels"]
    exprs = []
    for panel in dashboard["panels"]:
        assert {"id", "type", "title", "gridPos", "targets"} <= set(panel), panel.get("title")
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"])
        exprs += [target["expr"] for target in panel["targets"]]
    rules = yaml.safe_load((DOCKER / "prometheus" / "alerts.yml").read_text())["groups"][0]["rules"]
    exprs += [rule["expr"] for rule in rules]
    assert {r["alert"] for r in rules} == {"ThreadtagConsumerLagHigh", "ThreadtagDeadLetters", "ThreadtagNoAnnotations"}
    unknown = sorted({name for expr in exprs for name in _metric_names(expr)} - exported)
    assert not unknown and all(_metric_names(e) for e in exprs), unknown


def test_compose_provisions_prometheus_and_grafana_and_checks_readiness():
    services = _compose()["services"]
    mounted = " ".join(services["prometheus"]["volumes"] + services["grafana"]["volumes"])
    for path in ("prometheus/prometheus.yml", "prometheus/alerts.yml", "grafana/provisioning", "grafana/dashboards"):
        assert f"./{path}:" in mounted and (DOCKER / path).exists(), path
    datasource = yaml.safe_load((DOCKER / "grafana/provisioning/datasources/prometheus.yml").read_text())
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "threadtag.json").read_text())
    uids = {target["datasource"]["uid"] for panel in dashboard["panels"] for target in panel["targets"]}
    assert uids == {datasource["datasources"][0]["uid"]}
    for worker in ("stream", "infer", "infer-gpu"):
        assert "/ready" in " ".join(services[worker]["healthcheck"]["test"]), worker


def test_the_cpu_and_gpu_images_install_the_same_torch():
    versions = {
        name: re.findall(r"^ARG TORCH_VERSION=(\S+)", (DOCKER / name).read_text(), flags=re.M)
        for name in ("Dockerfile", "Dockerfile.gpu")
    }
    assert versions["Dockerfile"] == versions["Dockerfile.gpu"] == ["2.13.0"], versions
