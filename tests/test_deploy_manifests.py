"""The production wiring of the example mesh: docker-compose.yml and k8s/, checked structurally.

No container engine or cluster is available to the tests, so these validate the files against
their real schemas (the Compose specification's JSON schema, shipped by check-jsonschema; the
Kubernetes OpenAPI schemas, shipped by kubernetes-validate; `kubectl kustomize` for the
kustomization), then parse them with PyYAML and check what a typo would break: one source for
the shared secret, references that resolve, ports that agree, images and commands present,
files the commands run that exist.
"""

from __future__ import annotations

import copy
import importlib.resources
import importlib.util
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import require

EXAMPLE = Path(__file__).resolve().parents[1] / "example_project"
COMPOSE = EXAMPLE / "docker-compose.yml"
K8S = EXAMPLE / "k8s"
MESH_SH = EXAMPLE.parent / "scripts" / "mesh.sh"
MESH_SERVICES = ("django", "express", "fastapi", "go")
#: What each service's command runs, relative to its source directory.
ENTRY_POINTS = {
    "express": ("services/express", "server.mjs"),
    "fastapi": ("services/fastapi", "main.py"),
    "go": ("services/go", "main.go"),
}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return document


def command_text(service: dict[str, Any]) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def listening_port(service: dict[str, Any]) -> int:
    """The port a service listens on: its PORT variable or the port in its command."""
    environment = service.get("environment", {})
    if "PORT" in environment:
        return int(environment["PORT"])
    match = re.search(r"(?:--port[ =]|0\.0\.0\.0:)(\d+)", command_text(service))
    assert match, f"no port in {service['command']!r}"
    return int(match.group(1))


# -- docker-compose.yml ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose_schema() -> Any:
    """The Compose specification's JSON schema (compose-spec.json), as check-jsonschema ships it."""
    require(
        importlib.util.find_spec("check_jsonschema") is not None
        and importlib.util.find_spec("jsonschema") is not None,
        "check-jsonschema and jsonschema are needed: make install (the package group)",
    )
    import jsonschema

    vendor = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads(vendor.joinpath("compose-spec.json").read_text())
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    return validator(schema)


def schema_errors(validator: Any, document: Any) -> list[str]:
    return [f"{error.json_path}: {error.message}" for error in validator.iter_errors(document)]


def test_compose_file_is_valid_against_the_compose_specification(
    compose: dict[str, Any], compose_schema: Any
) -> None:
    assert schema_errors(compose_schema, compose) == []


@pytest.mark.parametrize(
    ("service_key", "value"),
    [
        ("enviroment", {"PORT": "8000"}),  # a misspelt key
        ("ports", "8000:8000"),  # a list in the spec
        ("depends_on", {"redis": {"condition": "when_ready"}}),  # no such condition
    ],
)
def test_compose_schema_catches_a_broken_service(
    compose: dict[str, Any], compose_schema: Any, service_key: str, value: Any
) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["django"][service_key] = value
    errors = schema_errors(compose_schema, broken)
    assert any(service_key in error for error in errors), errors


def test_compose_runs_the_four_services_and_redis_each_with_an_image(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    assert set(services) == {"redis", "nextjs", *MESH_SERVICES}
    assert all(service.get("image") for service in services.values())
    assert all(command_text(services[name]) for name in (*MESH_SERVICES, "nextjs"))


def test_compose_gives_every_service_the_secret_from_one_variable(
    compose: dict[str, Any],
) -> None:
    names = (*MESH_SERVICES, "nextjs")
    environments = [compose["services"][name]["environment"] for name in names]
    for variable in ("NEXTAUTH_SECRET", "NEXTAUTH_SECRET_PREVIOUS"):
        values = {environment[variable] for environment in environments}
        assert len(values) == 1, f"{variable} differs between services: {values}"
        # An interpolation of the one variable (from .env), never a literal secret.
        assert re.fullmatch(rf"\$\{{{variable}(:[?-][^}}]*)?\}}", values.pop())
    # Required, not defaulted: a missing secret stops `docker compose up`.
    assert environments[0]["NEXTAUTH_SECRET"].startswith("${NEXTAUTH_SECRET:?")


def test_compose_points_django_at_the_redis_service(compose: dict[str, Any]) -> None:
    django = compose["services"]["django"]
    host = re.fullmatch(r"redis://([^:/]+):6379/\d+", django["environment"]["REDIS_URL"])
    assert host
    assert host.group(1) in compose["services"]
    assert host.group(1) in django["depends_on"]


def redis_options(command: list[str]) -> dict[str, str]:
    """``redis-server --name value ...`` as a mapping."""
    assert command[0] == "redis-server", command
    return dict(zip(command[1::2], command[2::2], strict=True))


def test_compose_redis_persists_and_never_evicts(compose: dict[str, Any]) -> None:
    # A Redis that restarts empty forgets every sign-out; one that evicts drops revocations.
    redis = compose["services"]["redis"]
    options = redis_options(redis["command"])
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    assert re.fullmatch(r"[1-9][0-9]*[kmg]b", options["--maxmemory"])  # a limit to fill towards
    volume = next(v for v in redis["volumes"] if v.endswith(":/data"))
    assert volume.split(":")[0] in compose["volumes"]


def redis_database(url: str) -> tuple[str, int]:
    match = re.fullmatch(r"redis://([^:/]+):6379/(\d+)", url)
    assert match, url
    return match.group(1), int(match.group(2))


def test_compose_state_store_has_a_database_apart_from_the_cache(
    compose: dict[str, Any],
) -> None:
    # cache.clear() is FLUSHDB: on a shared database it would wipe the deny-list too.
    environment = compose["services"]["django"]["environment"]
    cache, state = (redis_database(environment[n]) for n in ("REDIS_URL", "NEXTAUTH_REDIS_URL"))
    assert cache[0] == state[0] == "redis"
    assert cache[1] != state[1]


@pytest.mark.parametrize("name", MESH_SERVICES)
def test_compose_publishes_the_port_each_service_listens_on_all_interfaces(
    compose: dict[str, Any], name: str
) -> None:
    service = compose["services"][name]
    port = listening_port(service)
    assert service["ports"] == [f"{port}:{port}"]
    binds_everywhere = (
        service.get("environment", {}).get("HOST") == "0.0.0.0"  # noqa: S104
        or f"0.0.0.0:{port}" in command_text(service)
        or "--host 0.0.0.0" in command_text(service)
    )
    assert binds_everywhere


@pytest.mark.parametrize("name", list(ENTRY_POINTS))
def test_compose_mounts_each_neighbour_source_that_its_command_runs(
    compose: dict[str, Any], name: str
) -> None:
    source, entry = ENTRY_POINTS[name]
    service = compose["services"][name]
    host, container = service["volumes"][0].split(":")[:2]
    assert (EXAMPLE / host).resolve() == (EXAMPLE / source).resolve()
    assert (EXAMPLE / source / entry).is_file()
    assert service["working_dir"] == container
    if name == "fastapi":
        assert "-r requirements.txt" in command_text(service)
        assert (EXAMPLE / source / "requirements.txt").is_file()


def test_compose_ports_are_the_ports_of_make_mesh(compose: dict[str, Any]) -> None:
    # make mesh's default ports: the NAME_PORT=default pairs it hands scripts/mesh-ports.py.
    defaults = dict(re.findall(r"\b([A-Z]+)_PORT=(\d+)\b", MESH_SH.read_text()))
    for name in (*MESH_SERVICES, "nextjs"):
        assert int(defaults[name.upper()]) == listening_port(compose["services"][name]), name


#: Environment variables that hold a credential: never a literal in a committed file.
CREDENTIAL = re.compile(r"SECRET|PASSWORD|_KEY$")


def test_compose_has_no_literal_credential_only_required_or_empty_interpolations(
    compose: dict[str, Any],
) -> None:
    for name, service in compose["services"].items():
        for variable, value in service.get("environment", {}).items():
            if CREDENTIAL.search(variable):
                # ${VAR:?message} (required) or ${VAR:-} (empty unless set): no default value.
                assert re.fullmatch(rf"\$\{{{variable}(:\?[^}}]*|:-)?\}}", value), (name, variable)
    text = COMPOSE.read_text()
    assert "demo-password" not in text
    assert "admin-password" not in text


def test_compose_runs_django_with_debug_off_and_required_secret_key(
    compose: dict[str, Any],
) -> None:
    environment = compose["services"]["django"]["environment"]
    assert environment["DJANGO_DEBUG"] == "0"
    assert environment["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


def test_compose_creates_demo_accounts_only_when_opted_in(compose: dict[str, Any]) -> None:
    django = compose["services"]["django"]
    # Off unless .env says DEMO_USERS=1; then the passwords come from .env too (the command
    # refuses without them: no built-in password with DEBUG off, tests/test_example.py).
    assert django["environment"]["DEMO_USERS"] == "${DEMO_USERS:-0}"
    assert django["environment"]["DEMO_PASSWORD"] == "${DEMO_PASSWORD:-}"
    assert django["environment"]["ADMIN_PASSWORD"] == "${ADMIN_PASSWORD:-}"
    script = django["command"][-1]
    # `$$` is Compose's escape for a `$` the container's shell expands.
    guarded = '{ [ "$$DEMO_USERS" != 1 ] || python manage.py ensure_demo_user; }'
    assert script.count("ensure_demo_user") == script.count(guarded) == 1
    assert script.index("migrate") < script.index(guarded) < script.index("exec uvicorn")
    for name in MESH_SERVICES:
        if name != "django":
            assert "ensure_demo_user" not in command_text(compose["services"][name])


# -- k8s/ ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    on_disk = sorted(p.name for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")
    assert sorted(listed) == on_disk
    return [doc for name in listed for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


def k8s_schema_errors(document: dict[str, Any]) -> list[str]:
    """What kubernetes-validate finds in ``document`` (strict: no unknown fields)."""
    import kubernetes_validate

    try:
        kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'.'.join(map(str, error.path))}: {error.message}"]
    return []


def require_kubernetes_validate() -> None:
    require(
        importlib.util.find_spec("kubernetes_validate") is not None,
        "kubernetes-validate is needed: make install (the package group)",
    )


def test_k8s_manifests_are_valid_against_the_kubernetes_schemas(
    manifests: list[dict[str, Any]],
) -> None:
    require_kubernetes_validate()
    assert len(manifests) >= 5
    for document in manifests:
        name = f"{document['kind']}/{document['metadata']['name']}"
        assert k8s_schema_errors(document) == [], name


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("spec", "replicas"), "two"),  # an integer
        (("spec", "template", "spec", "containres"), []),  # a misspelt field (strict)
        (("spec", "selector"), None),  # a Deployment needs its selector
    ],
)
def test_k8s_schema_catches_a_broken_deployment(
    manifests: list[dict[str, Any]], path: tuple[str, ...], value: Any
) -> None:
    require_kubernetes_validate()
    broken = copy.deepcopy(of_kind(manifests, "Deployment")["django"])
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    if value is None:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    errors = k8s_schema_errors(broken)
    assert any(path[-1] in error for error in errors), errors


@pytest.fixture(scope="module")
def kustomized() -> list[dict[str, Any]]:
    """What `kubectl apply -k example_project/k8s` would apply: `kubectl kustomize`'s output."""
    kubectl = shutil.which("kubectl")
    require(kubectl is not None, "kubectl is needed: apt-get install kubernetes-client")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def test_k8s_kustomize_builds_every_listed_resource_and_each_is_valid(
    kustomized: list[dict[str, Any]], manifests: list[dict[str, Any]]
) -> None:
    require_kubernetes_validate()
    assert sorted(map(kind_and_name, kustomized)) == sorted(map(kind_and_name, manifests))
    for document in kustomized:
        assert k8s_schema_errors(document) == [], kind_and_name(document)


def kind_and_name(document: dict[str, Any]) -> tuple[str, str]:
    return document["kind"], document["metadata"]["name"]


def of_kind(manifests: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests if doc["kind"] == kind}


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return [*spec["containers"], *spec.get("initContainers", [])]


def test_k8s_has_the_secret_and_a_django_deployment_with_a_neighbour(
    manifests: list[dict[str, Any]],
) -> None:
    assert "NEXTAUTH_SECRET" in of_kind(manifests, "Secret")["nextauth"]["stringData"]
    assert {"django", "express"} <= set(of_kind(manifests, "Deployment"))
    assert {"django", "express"} <= set(of_kind(manifests, "Service"))


def test_k8s_every_container_reads_the_secret_from_the_same_secret_key(
    manifests: list[dict[str, Any]],
) -> None:
    refs = set()
    for deployment in of_kind(manifests, "Deployment").values():
        for container in containers(deployment):
            env = {item["name"]: item for item in container["env"]}
            assert "value" not in env["NEXTAUTH_SECRET"], "the secret must not be inlined"
            ref = env["NEXTAUTH_SECRET"]["valueFrom"]["secretKeyRef"]
            refs.add((ref["name"], ref["key"]))
            previous = env["NEXTAUTH_SECRET_PREVIOUS"]["valueFrom"]["secretKeyRef"]
            assert (previous["name"], previous.get("optional")) == (ref["name"], True)
    assert refs == {("nextauth", "NEXTAUTH_SECRET")}


def test_k8s_every_required_secret_reference_resolves(manifests: list[dict[str, Any]]) -> None:
    secrets = of_kind(manifests, "Secret")
    for deployment in of_kind(manifests, "Deployment").values():
        for container in containers(deployment):
            for item in container["env"]:
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    assert ref["key"] in secrets[ref["name"]]["stringData"], item["name"]


def test_k8s_containers_have_images_commands_and_consistent_ports(
    manifests: list[dict[str, Any]],
) -> None:
    for name, deployment in of_kind(manifests, "Deployment").items():
        template = deployment["spec"]["template"]
        labels = template["metadata"]["labels"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
        for container in containers(deployment):
            assert container["image"]
            assert container["command"]
        main = template["spec"]["containers"][0]
        ports = {port["name"]: port["containerPort"] for port in main["ports"]}
        env = {item["name"]: item.get("value") for item in main["env"]}
        if "PORT" in env:
            assert int(env["PORT"]) == ports["http"], name
        if "gunicorn" in main["command"]:
            assert f"0.0.0.0:{ports['http']}" in main["command"]
        assert main["readinessProbe"]["httpGet"]["port"] in ports


def test_k8s_each_service_selects_a_deployment_and_targets_a_named_port(
    manifests: list[dict[str, Any]],
) -> None:
    deployments = {**of_kind(manifests, "Deployment"), **of_kind(manifests, "StatefulSet")}
    for name, service in of_kind(manifests, "Service").items():
        deployment = deployments[name]
        template = deployment["spec"]["template"]
        assert service["spec"]["selector"].items() <= template["metadata"]["labels"].items()
        port_names = {port["name"] for port in template["spec"]["containers"][0]["ports"]}
        assert {port["targetPort"] for port in service["spec"]["ports"]} <= port_names


def test_k8s_django_allows_the_host_its_probe_and_service_use(
    manifests: list[dict[str, Any]],
) -> None:
    django = of_kind(manifests, "Deployment")["django"]["spec"]["template"]["spec"]
    container = django["containers"][0]
    allowed = next(i["value"] for i in container["env"] if i["name"] == "DJANGO_ALLOWED_HOSTS")
    probe_headers = container["readinessProbe"]["httpGet"]["httpHeaders"]
    assert {h["value"] for h in probe_headers if h["name"] == "Host"} <= set(allowed.split(","))
    assert "django" in allowed.split(",")


def test_k8s_commits_no_usable_secret_value(manifests: list[dict[str, Any]]) -> None:
    # A committed placeholder of 32+ bytes would be a public signing secret: every value is
    # empty, so an unfilled Secret stops Django (E001, DJANGO_SECRET_KEY) instead.
    for name, secret in of_kind(manifests, "Secret").items():
        assert secret["stringData"], name
        assert set(secret["stringData"].values()) == {""}, name


def test_k8s_credentials_come_from_secrets_and_django_runs_without_debug_or_demo_users(
    manifests: list[dict[str, Any]],
) -> None:
    for name, deployment in of_kind(manifests, "Deployment").items():
        for container in containers(deployment):
            assert "ensure_demo_user" not in shlex.join(container["command"]), name
            for item in container["env"]:
                if CREDENTIAL.search(item["name"]):
                    assert "value" not in item, (name, item["name"])
                    assert item["valueFrom"]["secretKeyRef"], (name, item["name"])
    for container in containers(of_kind(manifests, "Deployment")["django"]):
        env = {item["name"]: item for item in container["env"]}
        assert env["DJANGO_DEBUG"]["value"] == "0"
        assert not env["DJANGO_SECRET_KEY"]["valueFrom"]["secretKeyRef"].get("optional")


def test_k8s_redis_persists_on_a_volume_and_never_evicts(manifests: list[dict[str, Any]]) -> None:
    redis = of_kind(manifests, "StatefulSet")["redis"]["spec"]
    container = redis["template"]["spec"]["containers"][0]
    options = redis_options(container["command"])
    assert options["--appendonly"] == "yes"
    assert options["--maxmemory-policy"] == "noeviction"
    assert re.fullmatch(r"[1-9][0-9]*[kmg]b", options["--maxmemory"])  # a limit to fill towards
    claims = {claim["metadata"]["name"] for claim in redis["volumeClaimTemplates"]}
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    assert mounts["data"] == "/data"
    assert "data" in claims


def test_k8s_state_store_has_a_database_apart_from_the_cache(
    manifests: list[dict[str, Any]],
) -> None:
    for container in containers(of_kind(manifests, "Deployment")["django"]):
        env = {item["name"]: item.get("value") for item in container["env"]}
        cache, state = (redis_database(env[n]) for n in ("REDIS_URL", "NEXTAUTH_REDIS_URL"))
        assert cache[0] == state[0]
        assert state[0] in of_kind(manifests, "Service")
        assert cache[1] != state[1]


def test_compose_serves_the_front_ends_live_line_over_asgi(compose: dict[str, Any]) -> None:
    # The protected page opens Django's /ws/live/ from the browser: Django runs under an ASGI
    # server with Channels, accepts that origin's cookie handshakes, and the page is told
    # Django's address as the browser reaches it (not the Compose name).
    services = compose["services"]
    django, nextjs = services["django"], services["nextjs"]
    script = django["command"][-1]
    assert "exec uvicorn mesh.asgi:application" in script
    assert "channels]" in script
    assert django["environment"]["NEXTAUTH_WEBSOCKET_ORIGINS"] == "http://localhost:3000"
    assert nextjs["environment"]["DJANGO_PUBLIC_URL"] == "http://localhost:8000"
    assert "8000:8000" in django["ports"]


def test_k8s_serves_the_front_ends_live_line_over_asgi_on_its_public_origin(
    manifests: list[dict[str, Any]],
) -> None:
    # As in Compose: Django under an ASGI server with Channels, accepting cookie handshakes
    # from the front end's public origin, which the page is told to reach Django at; the
    # Ingress sends that origin's /ws/ to Django and everything else to the front end.
    deployments = of_kind(manifests, "Deployment")
    django, nextjs = (containers(deployments[n])[0] for n in ("django", "nextjs"))
    assert django["command"][:2] == ["uvicorn", "mesh.asgi:application"]
    django_env = {e["name"]: e.get("value") for e in django["env"]}
    nextjs_env = {e["name"]: e.get("value") for e in nextjs["env"]}
    origin = nextjs_env["NEXTAUTH_URL"]
    assert django_env["NEXTAUTH_WEBSOCKET_ORIGINS"] == origin
    assert nextjs_env["DJANGO_PUBLIC_URL"] == origin
    host = origin.removeprefix("https://")
    assert host in django_env["DJANGO_ALLOWED_HOSTS"].split(",")
    (ingress,) = of_kind(manifests, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    assert rule["host"] == host
    routes = {p["path"]: p["backend"]["service"]["name"] for p in rule["http"]["paths"]}
    assert routes == {"/ws/": "django", "/": "nextjs"}
    assert "channels" in Path(K8S / "django.yaml").read_text().splitlines()[1]
