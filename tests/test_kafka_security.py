"""Kafka TLS/SASL settings reach both clients in their own form. No TLS or SASL broker runs
here (the embedded Tansu cannot serve either), so the mapping is what is tested."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import faust
import pytest
from faust.types.auth import AuthProtocol, SASLMechanism

from threadtag.core.kafka_security import faust_credentials, kafka_python_options
from threadtag.core.settings import Settings


def test_plaintext_is_the_default_and_adds_nothing():
    settings = Settings()
    assert kafka_python_options(settings) == {"security_protocol": "PLAINTEXT"}
    assert faust_credentials(settings) is None


def test_sasl_ssl_with_scram_for_a_managed_cluster():
    settings = Settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-512",
        kafka_sasl_username="svc",
        kafka_sasl_password="s3cret",
    )
    assert kafka_python_options(settings) == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "svc",
        "sasl_plain_password": "s3cret",
    }
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol == AuthProtocol.SASL_SSL and credentials.mechanism == SASLMechanism.SCRAM_SHA_512
    assert (credentials.username, credentials.password) == ("svc", "s3cret")
    assert isinstance(credentials.ssl_context, ssl.SSLContext)
    assert "s3cret" not in repr(settings)  # the password never shows in logs


def test_sasl_plaintext_has_no_tls():
    settings = Settings(kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="p")
    credentials = faust_credentials(settings)
    assert credentials.protocol == AuthProtocol.SASL_PLAINTEXT and credentials.ssl_context is None
    assert "ssl_cafile" not in kafka_python_options(settings)


@pytest.mark.integration  # openssl as a process
def test_mutual_tls_files(tmp_path: Path):
    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=threadtag-test",
        ],
        check=True,
        capture_output=True,
    )
    settings = Settings(
        kafka_security_protocol="SSL", kafka_ssl_cafile=cert, kafka_ssl_certfile=cert, kafka_ssl_keyfile=key
    )
    assert kafka_python_options(settings) == {
        "security_protocol": "SSL",
        "ssl_cafile": str(cert),
        "ssl_certfile": str(cert),
        "ssl_keyfile": str(key),
    }
    credentials = faust_credentials(settings)
    assert isinstance(credentials, faust.SSLCredentials) and credentials.protocol == AuthProtocol.SSL


@pytest.mark.integration  # a child process
def test_the_password_reaches_child_processes_in_clear():
    env = Settings(kafka_sasl_password="s3cret").to_env()
    assert env["KAFKA_SASL_PASSWORD"] == "s3cret"
