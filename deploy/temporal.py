"""Reaching a Temporal cluster, and preparing its namespace for Kanalvakt.

One way in for the worker, the feeder, the web app and the CLI: Temporal's
own environment configuration (`temporalio.envconfig`), so a cluster that
needs TLS, a client certificate or an API key is configured as every
Temporal tool is:

- `TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`,
  `TEMPORAL_TLS`, `TEMPORAL_TLS_CLIENT_CERT_PATH`,
  `TEMPORAL_TLS_CLIENT_KEY_PATH`, `TEMPORAL_TLS_SERVER_CA_CERT_PATH`,
  `TEMPORAL_TLS_SERVER_NAME`, `TEMPORAL_GRPC_META_<NAME>`; or
- a TOML file (`TEMPORAL_CONFIG_FILE`, else Temporal's default path) with
  profiles, chosen with `TEMPORAL_PROFILE`; the variables override it.

An address or namespace given on a command line overrides both. Without
any of them: localhost:7233, namespace `default` (the local stack).

`prepare_namespace` registers Kanalvakt's search attributes (idempotent; a
clash of types is named, never overwritten); `kanalvakt setup` runs it and
syncs the snapshot schedules, so a namespace on a real cluster is ready
before the first worker starts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig, ClientConnectConfig
from temporalio.runtime import Runtime

import settings as app_settings
from codec import codec_from_settings, data_converter
from workflows.search_attributes import ALL as SEARCH_ATTRIBUTES

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"


class NamespaceNotReady(Exception):
    """The namespace cannot take Kanalvakt as it is (said to the operator)."""


def connect_config(address: str | None = None, namespace: str | None = None
                   ) -> ClientConnectConfig:
    """Client.connect's arguments: Temporal's profile and variables, then
    what the caller was told explicitly, then the local defaults."""
    config = ClientConfig.load_client_connect_config()
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


def describe(config: ClientConnectConfig) -> str:
    """Where a client goes, for logs and messages: never a key or secret."""
    tls = config.get("tls")
    how = ("mutual TLS" if tls is not None and not isinstance(tls, bool) and tls.client_cert
           else "TLS" if tls else "plain")
    auth = ", API key" if config.get("api_key") else ""
    return f"{config['target_host']} (namespace {config['namespace']}, {how}{auth})"


async def connect(address: str | None = None, namespace: str | None = None,
                  runtime: Runtime | None = None) -> Client:
    """The one place the worker, web app, cli and feeder get their client:
    payloads are encrypted when KANALVAKT_PAYLOAD_KEYS is set (required in
    production; codec.py), each workflow's under its own data key when
    DATABASE_URL is set too, and a malformed key stops the process here."""
    cfg = app_settings.load()
    codec = codec_from_settings(cfg.payload_keys, cfg.production, cfg.database_url)
    return await Client.connect(**connect_config(address, namespace),
                                data_converter=data_converter(pydantic_data_converter, codec),
                                runtime=runtime)


def _type_name(kind: IndexedValueType.ValueType) -> str:
    return IndexedValueType.Name(kind).removeprefix("INDEXED_VALUE_TYPE_").title()


async def prepare_namespace(client: Client,
                            keys: Sequence[SearchAttributeKey[Any]] = SEARCH_ATTRIBUTES
                            ) -> list[str]:
    """Register whichever of our search attributes the namespace lacks;
    return their names. A name registered with another type is not
    overwritten (its workflows would lose their index): NamespaceNotReady
    names each clash. AddSearchAttributes with the same name and type is a
    no-op, so running this again, or from two processes, is harmless."""
    # The SDK enum's values are the proto's IndexedValueType numbers.
    wanted = {key.name: IndexedValueType.ValueType(int(key.indexed_value_type)) for key in keys}
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace))
    existing = dict(listed.custom_attributes)
    clashes = [f"{name} is {_type_name(existing[name])}, Kanalvakt needs {_type_name(kind)}"
               for name, kind in wanted.items() if name in existing and existing[name] != kind]
    if clashes:
        raise NamespaceNotReady(
            f"search attributes of namespace {client.namespace} registered with another type: "
            + "; ".join(clashes))
    missing = {name: kind for name, kind in wanted.items() if name not in existing}
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing))
    return sorted(missing)
