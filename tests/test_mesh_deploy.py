"""The mesh's deployments gain the front end and the asymmetric mode, checked as the rest.

Like ``tests/test_deploy_manifests.py`` (whose schema checks are reused): no container engine or
cluster runs here, so the files are validated against their real schemas and `kubectl
kustomize`, then read for what a slip would break. ``docker-compose.yml`` and ``k8s/`` run the
Next.js front end beside the services; ``docker-compose.asymmetric.yml`` and
``k8s-asymmetric/`` run the mesh with no shared secret anywhere: Django signs with a mounted
private key, the neighbours hold only its JWKS URL.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.conftest import require
from tests.test_deploy_manifests import (
    COMPOSE,
    EXAMPLE,
    command_text,
    compose_schema,  # noqa: F401 - the fixture, shared
    containers,
    k8s_schema_errors,
    listening_port,
    of_kind,
    require_kubernetes_validate,
    schema_errors,
)

ASYMMETRIC_COMPOSE = EXAMPLE / "docker-compose.asymmetric.yml"
ASYMMETRIC_K8S = EXAMPLE / "k8s-asymmetric"
NEIGHBOURS = ("express", "fastapi", "go")


def load(path: Any) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


# -- the front end ---------------------------------------------------------------------------


def test_compose_runs_the_nextjs_front_end_in_front_of_the_services() -> None:
    compose = load(COMPOSE)
    services = compose["services"]
    nextjs = services["nextjs"]
    env = nextjs["environment"]
    # Its own origin, which Django trusts and may send the browser back to.
    origin = env["NEXTAUTH_URL"]
    django_env = services["django"]["environment"]
    assert django_env["NEXTAUTH_ALLOWED_REDIRECT_ORIGINS"] == origin
    assert django_env["CSRF_TRUSTED_ORIGINS"] == origin
    # One host name for the browser (cookies ignore the port): Django's published origin.
    assert urlsplit(origin).hostname == urlsplit(django_env["MESH_URL"]).hostname
    port = urlsplit(origin).port
    assert nextjs["ports"] == [f"{port}:{port}"]
    assert int(env["PORT"]) == port
    assert "-H 0.0.0.0" in command_text(nextjs)
    # Every service it asks, by its Compose name and the port that service listens on.
    for name, variable in (
        ("django", "DJANGO_URL"),
        *((n, f"{n.upper()}_URL") for n in NEIGHBOURS),
    ):
        url = urlsplit(env[variable])
        assert (url.hostname, url.port) == (name, listening_port(services[name])), variable
    assert "django" in django_env["DJANGO_ALLOWED_HOSTS"].split(",")
    # A token every service verifies, read-only sources, and the app the command builds.
    assert (env["NEXTAUTH_JWT_FORMAT"], env["NEXTAUTH_VERSION"]) == ("jws", "4")
    assert nextjs["volumes"] == ["./nextjs:/src:ro"]
    assert (EXAMPLE / "nextjs" / "package-lock.json").is_file()
    assert "npm ci" in command_text(nextjs)
    assert command_text(nextjs).index("next build") < command_text(nextjs).index("next start")


@pytest.fixture(scope="module")
def k8s_built() -> dict[str, list[dict[str, Any]]]:
    """`kubectl kustomize` of k8s/ and of k8s-asymmetric/."""
    kubectl = shutil.which("kubectl")
    require(kubectl is not None, "kubectl is needed: apt-get install kubernetes-client")
    assert kubectl is not None
    built = {}
    for name in ("k8s", "k8s-asymmetric"):
        result = subprocess.run(
            [kubectl, "kustomize", str(EXAMPLE / name)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stderr
        built[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return built


def env_of(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container.get("env", [])}


def test_k8s_runs_the_nextjs_front_end_with_the_shared_secret(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    manifests = k8s_built["k8s"]
    nextjs = of_kind(manifests, "Deployment")["nextjs"]
    (container,) = containers(nextjs)
    env = env_of(container)
    assert env["NEXTAUTH_SECRET"]["valueFrom"]["secretKeyRef"] == {
        "name": "nextauth",
        "key": "NEXTAUTH_SECRET",
    }
    assert env["NEXTAUTH_SECRET_PREVIOUS"]["valueFrom"]["secretKeyRef"]["optional"] is True
    assert env["NEXTAUTH_JWT_FORMAT"]["value"] == "jws"
    assert env["NEXTAUTH_URL"]["value"].startswith("https://")
    services = of_kind(manifests, "Service")
    for variable in ("DJANGO_URL", "EXPRESS_URL"):
        assert urlsplit(env[variable]["value"]).hostname in services, variable
    port = container["ports"][0]["containerPort"]
    assert container["command"][-2:] == ["-p", str(port)]
    assert "nextjs" in services


def test_k8s_runs_every_service_the_front_end_asks(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    # The front end's mesh page asks each of its SERVICES (lib/settings.ts); one not running
    # in the cluster would show as unreachable there, as FastAPI and Go once did.
    settings_ts = (EXAMPLE / "nextjs" / "lib" / "settings.ts").read_text()
    listed = re.search(r"export const SERVICES = \[([^\]]*)\] as const", settings_ts)
    assert listed
    asked = re.findall(r'"([a-z]+)"', listed.group(1))
    assert {"django", *NEIGHBOURS} == set(asked)
    manifests = k8s_built["k8s"]
    deployments, services = of_kind(manifests, "Deployment"), of_kind(manifests, "Service")
    (container,) = containers(deployments["nextjs"])
    env = env_of(container)
    for name in asked:
        url = urlsplit(env[f"{name.upper()}_URL"]["value"])
        assert url.hostname == name, name
        (port,) = services[name]["spec"]["ports"]
        assert (url.port or 80) == port["port"], name
        main = deployments[name]["spec"]["template"]["spec"]["containers"][0]
        ports = {p["name"]: p["containerPort"] for p in main["ports"]}
        # Each listens where its Service sends: PORT for Express and Go, --port for uvicorn.
        command = main["command"]
        if "--port" in command:
            assert int(command[command.index("--port") + 1]) == ports[port["targetPort"]], name
        else:
            assert port["targetPort"] in ports, name


# -- where the front end takes the browser's address from --------------------------------


def client_address_source(env: dict[str, str]) -> dict[str, Any]:
    """What the real helper (``clientAddressSource`` in nextjs/django.mjs) makes of ``env``."""
    node = shutil.which("node")
    require(node is not None, "node is needed")
    assert node is not None
    script = (
        f"const m = await import({json.dumps((EXAMPLE / 'nextjs' / 'django.mjs').as_uri())});"
        "console.log(JSON.stringify(m.clientAddressSource(JSON.parse(process.argv[1]))));"
    )
    result = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps(env)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    source: dict[str, Any] = json.loads(result.stdout)
    return source


def test_compose_nextjs_names_no_client_address_header_its_browsers_could_write() -> None:
    # `next start` is published as it is: every header is the browser's to write, and the
    # socket's address through Docker's published port is often the gateway every browser
    # shares. So sign-ins count as "unknown" (a site-wide budget) unless .env names the header
    # of a proxy put in front; the file says which, and the helper accepts it.
    compose = load(COMPOSE)
    nextjs = compose["services"]["nextjs"]
    value = nextjs["environment"]["NEXTAUTH_CLIENT_ADDRESS_HEADER"]
    assert value == "${NEXTAUTH_CLIENT_ADDRESS_HEADER:-}"
    assert set(compose["services"]) == {"redis", "django", "nextjs", *NEIGHBOURS}  # no proxy
    assert client_address_source({"NEXTAUTH_CLIENT_ADDRESS_HEADER": ""}) == {
        "header": None,
        "hops": 0,
    }
    (documented,) = re.findall(r"NEXTAUTH_CLIENT_ADDRESS_HEADER=(\S+)", COMPOSE.read_text())
    assert client_address_source({"NEXTAUTH_CLIENT_ADDRESS_HEADER": documented}) == {
        "header": "x-real-ip",
        "hops": 0,
    }


def test_k8s_nextjs_takes_the_browser_address_from_the_header_the_ingress_sets(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    # Served through an Ingress (ingress-nginx, Traefik), which sets X-Real-IP to the address
    # that connected to it, replacing the browser's: never x-forwarded-for alone, whose start
    # the browser writes.
    nextjs = of_kind(k8s_built["k8s"], "Deployment")["nextjs"]
    (container,) = containers(nextjs)
    value = env_of(container)["NEXTAUTH_CLIENT_ADDRESS_HEADER"]["value"]
    assert client_address_source({"NEXTAUTH_CLIENT_ADDRESS_HEADER": value}) == {
        "header": "x-real-ip",
        "hops": 0,
    }


# -- the asymmetric mode ---------------------------------------------------------------------


def test_asymmetric_compose_is_valid_against_the_compose_specification(
    compose_schema: Any,  # noqa: F811 - the shared fixture
) -> None:
    assert schema_errors(compose_schema, load(ASYMMETRIC_COMPOSE)) == []


def test_asymmetric_compose_holds_no_shared_secret_and_django_signs_with_a_mounted_key() -> None:
    asymmetric = load(ASYMMETRIC_COMPOSE)
    services = asymmetric["services"]
    assert set(services) == {"redis", "django", *NEIGHBOURS}
    for name, service in services.items():
        assert not any("NEXTAUTH_SECRET" in v for v in service.get("environment", {})), name
    django = services["django"]
    env = django["environment"]
    assert env["NEXTAUTH_JWT_FORMAT"] == "jws-asymmetric"
    assert django["secrets"] == ["signing-key"]
    assert env["NEXTAUTH_SIGNING_KEY_FILE"] == "/run/secrets/signing-key"
    assert asymmetric["secrets"]["signing-key"]["file"] == "./signing-key.pem"
    # The key file is never committed (it is listed in .gitignore).
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(EXAMPLE / "signing-key.pem")], check=False
    )
    assert ignored.returncode == 0
    assert env["DJANGO_SECRET_KEY"].startswith("${DJANGO_SECRET_KEY:?")


def test_asymmetric_compose_neighbours_verify_with_djangos_jwks_url_only() -> None:
    services = load(ASYMMETRIC_COMPOSE)["services"]
    django_port = listening_port(services["django"])
    for name in NEIGHBOURS:
        env = services[name]["environment"]
        url = urlsplit(env["NEXTAUTH_JWKS_URL"])
        assert (url.hostname, url.port, url.path) == (
            "django",
            django_port,
            "/.well-known/jwks.json",
        ), name
        assert not any(re.search(r"SECRET|SIGNING", variable) for variable in env), name
        assert "django" in services[name]["depends_on"]
    assert "django" in services["django"]["environment"]["DJANGO_ALLOWED_HOSTS"].split(",")


def test_asymmetric_compose_runs_the_same_services_as_the_shared_secret_one() -> None:
    # Written out in full (the base requires NEXTAUTH_SECRET), so held to it here: the same
    # Redis (persisted, never evicting), images, commands and ports.
    base, asymmetric = load(COMPOSE)["services"], load(ASYMMETRIC_COMPOSE)["services"]
    assert asymmetric["redis"] == base["redis"]
    for name in ("django", *NEIGHBOURS):
        for key in ("image", "working_dir", "command", "ports", "volumes"):
            assert asymmetric[name][key] == base[name][key], (name, key)
    shared = {k: v for k, v in base["django"]["environment"].items() if "NEXTAUTH" not in k}
    shared = {k: v for k, v in shared.items() if k != "CSRF_TRUSTED_ORIGINS"}
    assert shared.items() <= asymmetric["django"]["environment"].items()


def test_k8s_asymmetric_builds_and_every_resource_is_valid(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    require_kubernetes_validate()
    for document in k8s_built["k8s-asymmetric"]:
        name = f"{document['kind']}/{document['metadata']['name']}"
        assert k8s_schema_errors(document) == [], name


def test_k8s_asymmetric_holds_no_shared_secret_and_no_front_end(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    manifests = k8s_built["k8s-asymmetric"]
    assert "nextauth" not in of_kind(manifests, "Secret")
    assert "nextjs" not in of_kind(manifests, "Deployment")
    assert "nextjs" not in of_kind(manifests, "Service")
    for name, deployment in of_kind(manifests, "Deployment").items():
        for container in containers(deployment):
            assert not {"NEXTAUTH_SECRET", "NEXTAUTH_SECRET_PREVIOUS"} & env_of(container).keys(), (
                name
            )
    # Everything the shared-secret mesh runs, less the front end and its public origin.
    base = {(d["kind"], d["metadata"]["name"]) for d in k8s_built["k8s"]}
    ours = {(d["kind"], d["metadata"]["name"]) for d in manifests}
    assert base - ours == {
        ("Secret", "nextauth"),
        ("Deployment", "nextjs"),
        ("Service", "nextjs"),
        ("Ingress", "nextauth-mesh"),
    }
    assert ours - base == {("Secret", "nextauth-signing-key")}


def test_k8s_asymmetric_django_signs_with_the_mounted_key_in_both_containers(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    manifests = k8s_built["k8s-asymmetric"]
    django = of_kind(manifests, "Deployment")["django"]
    volumes = {v["name"]: v for v in django["spec"]["template"]["spec"]["volumes"]}
    secret = of_kind(manifests, "Secret")["nextauth-signing-key"]
    for container in containers(django):  # the server and the migrate init container
        env = env_of(container)
        assert env["NEXTAUTH_JWT_FORMAT"]["value"] == "jws-asymmetric", container["name"]
        path = env["NEXTAUTH_SIGNING_KEY_FILE"]["value"]
        (mount,) = container["volumeMounts"]
        assert mount["readOnly"] is True
        assert path.startswith(mount["mountPath"] + "/")
        source = volumes[mount["name"]]["secret"]
        assert source["secretName"] == secret["metadata"]["name"]
        assert path.rsplit("/", 1)[1] in secret["stringData"]
    # Committed empty, like every other Secret: an unfilled one stops Django (E050).
    assert set(secret["stringData"].values()) == {""}


def test_k8s_asymmetric_neighbours_verify_with_the_django_services_jwks(
    k8s_built: dict[str, list[dict[str, Any]]],
) -> None:
    manifests = k8s_built["k8s-asymmetric"]
    django = of_kind(manifests, "Deployment")["django"]["spec"]["template"]["spec"]
    allowed = env_of(django["containers"][0])["DJANGO_ALLOWED_HOSTS"]["value"].split(",")
    for name in NEIGHBOURS:
        (container,) = containers(of_kind(manifests, "Deployment")[name])
        url = urlsplit(env_of(container)["NEXTAUTH_JWKS_URL"]["value"])
        assert url.path == "/.well-known/jwks.json", name
        service = of_kind(manifests, "Service")[str(url.hostname)]
        assert (url.port or 80) in {port["port"] for port in service["spec"]["ports"]}, name
        assert url.hostname in allowed, name
