"""Issue 12, reaching a real cluster: Kanalvakt connects through Temporal's
environment configuration (deploy/temporal.py), so mutual TLS, a profile
file and an API key are configured as for every Temporal tool.

`temporal server start-dev` has no TLS, so a TLS-terminating TCP proxy that
demands a client certificate signed by the test's own CA stands in front of
it (gRPC is HTTP/2: the bytes pass through), as a Helm-installed cluster
with `requireClientAuth` would. Proven: the client with its certificate gets
through, and `kanalvakt setup` prepares the namespace through it; without a
certificate, or with one from another CA, the proxy refuses the handshake."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

import settings
from deploy.temporal import connect, connect_config, describe
from tests.servers import pipe
from tests.support import DEV_SERVER
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

TLS_VARIABLES = ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY", "TEMPORAL_TLS",
                 "TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH",
                 "TEMPORAL_TLS_SERVER_CA_CERT_PATH", "TEMPORAL_TLS_SERVER_NAME",
                 "TEMPORAL_CONFIG_FILE", "TEMPORAL_PROFILE")


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _cert(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Certificate | None,
          issuer_key: ec.EllipticCurvePrivateKey, *, ca: bool = False,
          usage: x509.ObjectIdentifier | None = None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (x509.CertificateBuilder()
               .subject_name(name)
               .issuer_name(issuer.subject if issuer else name)
               .public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(minutes=5))
               .not_valid_after(now + dt.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage == ExtendedKeyUsageOID.SERVER_AUTH:
        builder = builder.add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _write(folder: Path, name: str, cert: x509.Certificate,
           key: ec.EllipticCurvePrivateKey) -> tuple[Path, Path]:
    cert_path, key_path = folder / f"{name}.pem", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Pki:
    ca: Path
    server: tuple[Path, Path]
    client: tuple[Path, Path]
    stranger: tuple[Path, Path]  # a client certificate from another CA


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca_key = _key()
    ca = _cert("Kanalvakt test CA", ca_key, None, ca_key, ca=True)
    ca_path, _ = _write(folder, "ca", ca, ca_key)
    server_key, client_key = _key(), _key()
    server = _write(folder, "server", _cert("localhost", server_key, ca, ca_key,
                                            usage=ExtendedKeyUsageOID.SERVER_AUTH), server_key)
    client = _write(folder, "client", _cert("kanalvakt-worker", client_key, ca, ca_key,
                                            usage=ExtendedKeyUsageOID.CLIENT_AUTH), client_key)
    other_ca_key, stranger_key = _key(), _key()
    other_ca = _cert("Another CA", other_ca_key, None, other_ca_key, ca=True)
    stranger = _write(folder, "stranger", _cert("someone", stranger_key, other_ca, other_ca_key,
                                                usage=ExtendedKeyUsageOID.CLIENT_AUTH),
                      stranger_key)
    return Pki(ca_path, server, client, stranger)


@dataclass
class Proxy:
    address: str
    accepted: int = 0
    refused: list[str] = field(default_factory=list)


@pytest_asyncio.fixture(loop_scope="session")
async def dev_server() -> AsyncIterator[str]:
    env = await WorkflowEnvironment.start_local(dev_server_existing_path=DEV_SERVER, ui=False,
                                                dev_server_log_level="error")
    try:
        yield env.client.service_client.config.target_host
    finally:
        await env.shutdown()


@pytest_asyncio.fixture(loop_scope="session")
async def mtls_proxy(pki: Pki, dev_server: str) -> AsyncIterator[Proxy]:
    """TLS terminated here, a client certificate of our CA required, HTTP/2
    offered by ALPN; the plain bytes go on to the dev server."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pki.server)
    context.load_verify_locations(cafile=pki.ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.set_alpn_protocols(["h2"])
    upstream_host, upstream_port = dev_server.rsplit(":", 1)
    proxy = Proxy(address="")

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await writer.start_tls(context)
        except (ssl.SSLError, ConnectionError, TimeoutError) as exc:
            proxy.refused.append(type(exc).__name__)
            writer.close()
            return
        proxy.accepted += 1
        up_reader, up_writer = await asyncio.open_connection(upstream_host, int(upstream_port))
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    proxy.address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield proxy
    finally:
        server.close()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in TLS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no profile file of the developer's
    monkeypatch.delenv("KANALVAKT_PAYLOAD_KEYS", raising=False)
    return monkeypatch


async def test_a_client_with_its_certificate_gets_through_mutual_tls(
        mtls_proxy: Proxy, pki: Pki, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_ADDRESS", mtls_proxy.address)
    clean_env.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pki.ca))
    clean_env.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pki.client[0]))
    clean_env.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pki.client[1]))
    assert describe(connect_config()) == f"{mtls_proxy.address} (namespace default, mutual TLS)"
    client = await connect()
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace))
    assert listed.system_attributes  # an answer from the server, through the proxy
    assert await client.count_workflows() is not None
    assert mtls_proxy.accepted >= 1


@pytest.mark.parametrize("certificate", ["none", "another CA's"])
async def test_without_a_certificate_of_the_cluster_s_ca_the_connection_is_refused(
        mtls_proxy: Proxy, pki: Pki, clean_env: pytest.MonkeyPatch, certificate: str) -> None:
    clean_env.setenv("TEMPORAL_ADDRESS", mtls_proxy.address)
    clean_env.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(pki.ca))
    if certificate == "another CA's":
        clean_env.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(pki.stranger[0]))
        clean_env.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(pki.stranger[1]))
    else:
        clean_env.setenv("TEMPORAL_TLS", "true")
    refused_before = len(mtls_proxy.refused)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(connect(), timeout=30)
    assert len(mtls_proxy.refused) > refused_before, "the proxy saw no refused handshake"


async def test_a_profile_file_names_the_cluster_and_its_certificates(
        mtls_proxy: Proxy, pki: Pki, clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    profile = tmp_path / "temporal.toml"
    profile.write_text(
        "[profile.kanalvakt]\n"
        f'address = "{mtls_proxy.address}"\n'
        'namespace = "default"\n'
        "[profile.kanalvakt.tls]\n"
        f'client_cert_path = "{pki.client[0]}"\n'
        f'client_key_path = "{pki.client[1]}"\n'
        f'server_ca_cert_path = "{pki.ca}"\n')
    clean_env.setenv("TEMPORAL_CONFIG_FILE", str(profile))
    clean_env.setenv("TEMPORAL_PROFILE", "kanalvakt")
    client = await connect()
    assert await client.count_workflows() is not None
    # A command line's address wins over the profile's.
    assert connect_config("elsewhere:7233")["target_host"] == "elsewhere:7233"


def test_an_api_key_goes_with_the_connection_and_never_into_a_description(
        clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_ADDRESS", "cloud.example:7233")
    clean_env.setenv("TEMPORAL_NAMESPACE", "kommun.abc12")
    clean_env.setenv("TEMPORAL_API_KEY", "secret-key-value")
    config = connect_config()
    assert config["api_key"] == "secret-key-value"
    assert config["namespace"] == "kommun.abc12"
    assert "secret-key-value" not in describe(config)
    assert "API key" in describe(config)


def test_without_any_configuration_the_local_stack_s_server_is_used(
        clean_env: pytest.MonkeyPatch) -> None:
    config = connect_config()
    assert (config["target_host"], config["namespace"]) == ("localhost:7233", "default")
    assert "tls" not in config


async def test_kanalvakt_setup_prepares_the_namespace_through_mutual_tls_and_again(
        mtls_proxy: Proxy, pki: Pki, dev_server: str, database_url: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in TLS_VARIABLES and k != "KANALVAKT_PAYLOAD_KEYS"}
    env.update(HOME=str(tmp_path), DATABASE_URL=database_url,
               TEMPORAL_ADDRESS=mtls_proxy.address,
               TEMPORAL_TLS_SERVER_CA_CERT_PATH=str(pki.ca),
               TEMPORAL_TLS_CLIENT_CERT_PATH=str(pki.client[0]),
               TEMPORAL_TLS_CLIENT_KEY_PATH=str(pki.client[1]))

    def setup() -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cli", "setup"], cwd=settings.ROOT,
                              env=env, capture_output=True, text=True, timeout=120)

    accepted = mtls_proxy.accepted
    first = await asyncio.to_thread(setup)
    assert first.returncode == 0, first.stderr
    assert f"Temporal: {mtls_proxy.address} (namespace default, mutual TLS)" in first.stdout
    assert mtls_proxy.accepted > accepted  # it went through the proxy
    plain = await Client.connect(dev_server)
    listed = await plain.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default"))
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)

    again = await asyncio.to_thread(setup)
    assert again.returncode == 0, again.stderr
    assert "search attributes: all in place" in again.stdout
