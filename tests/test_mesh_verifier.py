"""The asymmetric mesh's verifier: a second Django instance holding no secret and no private key.

As ``MESH_MODE=asymmetric make mesh`` runs it: the example service as issuer (it signs with its
key files and publishes ``/.well-known/jwks.json``), and the same example as a verifier with only
``NEXTAUTH_JWT_FORMAT=jws-asymmetric`` and ``NEXTAUTH_JWKS_URL``. ``runserver`` runs the system
checks first, so a verifier the checks refuse never answers at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from django_nextauth_jwt.jose import jwk
from tests import forge
from tests.conftest import require
from tests.servers import (
    ROOT,
    example_server,
    express_installed,
    free_port,
    go_toolchain,
    stop,
)
from tests.test_mesh import get

ISSUER = "https://auth.mesh.test"
PORTS = ("DJANGO_PORT", "EXPRESS_PORT", "FASTAPI_PORT", "GO_PORT", "VERIFIER_PORT")
NO_SECRET = {"NEXTAUTH_SECRET": "", "NEXTAUTH_SECRET_PREVIOUS": "", "NEXTAUTH_SECRET_FILE": ""}


def post(url: str, body: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_django_verifier_with_no_secret_and_no_key_accepts_the_issuers_sign_in(
    tmp_path: Path,
) -> None:
    key_file = tmp_path / "ed25519.pem"
    key_file.write_text(forge.private_pem("EdDSA"))
    common = {**NO_SECRET, "NEXTAUTH_JWT_FORMAT": "jws-asymmetric", "NEXTAUTH_ISSUER": ISSUER}
    (tmp_path / "issuer").mkdir()
    (tmp_path / "verifier").mkdir()
    issuer_env = {**common, "NEXTAUTH_SIGNING_KEY_FILE": str(key_file), "NEXTAUTH_JWKS_URL": ""}
    with example_server(tmp_path / "issuer", issuer_env) as issuer:
        verifier_env = {
            **common,
            "NEXTAUTH_SIGNING_KEY_FILE": "",
            "NEXTAUTH_JWKS_URL": f"{issuer}/.well-known/jwks.json",
        }
        with example_server(tmp_path / "verifier", verifier_env) as verifier:
            credentials = {"email": "demo@example.com", "password": "demo-password"}
            status, signed_in = post(f"{issuer}/api/auth/custom-login", credentials)
            assert status == 200, signed_in
            token = signed_in["token"]
            status, _, mine = get(f"{issuer}/api/me/", token)
            assert status == 200
            status, _, theirs = get(f"{verifier}/api/me/", token)
            assert status == 200, theirs
            assert theirs["claims"]["sub"] == mine["claims"]["sub"]
            assert theirs["claims"]["email"] == "demo@example.com"
            # It mints nothing and publishes nothing: it holds no key.
            status, refused = post(f"{verifier}/api/auth/custom-login", credentials)
            assert (status, refused["code"]) == (404, "not_found")
            assert get(f"{verifier}/api/auth/jwks", None)[0] == 404
            # A token of a key its issuer does not publish: refused.
            kid = jwk.load_public_key(forge.public_pem("EdDSA", 1)).kid
            forged = forge.asym_jws(forge.claims(iss=ISSUER), "EdDSA", n=1, kid=kid)
            status, _, body = get(f"{verifier}/api/me/", forged)
            assert (status, body["code"]) == (401, "token_invalid")


def test_make_mesh_asymmetric_runs_the_verifier_with_no_secret_and_no_key(tmp_path: Path) -> None:
    """``MESH_MODE=asymmetric make mesh`` as a person runs it: the banner's verifier answers 200."""
    require(express_installed(), "node and services/express/node_modules are needed")
    require(go_toolchain(), "Go with Debian's gin and golang-jwt is needed (make system)")
    ports = {name: str(free_port()) for name in PORTS}
    log = tmp_path / "mesh.log"
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("NEXTAUTH_", "AUTH_"))}
    environment = {
        **inherited,
        **ports,
        "MESH_MODE": "asymmetric",
        "TMPDIR": str(tmp_path),
        "SQLITE_PATH": str(tmp_path / "mesh.sqlite3"),
    }
    with log.open("wb") as output:
        proc = subprocess.Popen(
            ["bash", str(ROOT / "scripts" / "mesh.sh")],
            cwd=ROOT,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "Ctrl-C stops them all." not in log.read_text(errors="replace"):
            assert proc.poll() is None, log.read_text(errors="replace")[-4000:]
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-4000:]
            time.sleep(0.2)
        text = log.read_text(errors="replace")
        django = f"http://127.0.0.1:{ports['DJANGO_PORT']}"
        verifier = f"http://127.0.0.1:{ports['VERIFIER_PORT']}"
        (line,) = [row for row in text.splitlines() if row.startswith("  Verifier ")]
        assert line.split()[1] == verifier
        assert line.endswith(": 200")
        for base in (django, verifier):
            wait_until_healthy(f"{base}/healthz")
        credentials = {"email": "demo@example.com", "password": "demo-password"}
        status, signed_in = post(f"{django}/api/auth/custom-login", credentials)
        assert status == 200, signed_in
        status, _, body = get(f"{verifier}/api/me/", signed_in["token"])
        assert status == 200, body
        assert body["claims"]["email"] == "demo@example.com"
        assert post(f"{verifier}/api/auth/custom-login", credentials)[0] == 404
    finally:
        stop(proc)  # TERM: the script's trap stops every service it started


def wait_until_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except OSError:
            assert time.monotonic() < deadline, url
            time.sleep(0.2)
