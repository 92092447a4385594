#!/usr/bin/env bash
# Start the example mesh locally: four services, one secret (Ctrl-C stops them all).
#   Django  http://127.0.0.1:8000   (example_project, as `make run` starts it)
#   Express http://127.0.0.1:8001   (services/express, jose)
#   FastAPI http://127.0.0.1:8002   (services/fastapi, PyJWT)
#   Go      http://127.0.0.1:8003   (services/go, gin + golang-jwt, built offline from Debian's sources)
# `make mesh` runs it after setting up .venv and the Express service's node_modules.
#
# MESH_MODE=asymmetric make mesh: no secret anywhere. Django signs with an Ed25519 key (made once
# under $TMPDIR, or NEXTAUTH_SIGNING_KEY_FILE) and publishes it at /.well-known/jwks.json; the
# three neighbours get only that URL (NEXTAUTH_JWKS_URL) and verify with the public key.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=$root/.venv/bin/python

# A development command, so DEBUG explicitly (Django's built-in development SECRET_KEY), and
# the development NEXTAUTH_SECRET of example_project/mesh/settings.py, shared by all four.
export DJANGO_DEBUG=1
export NEXTAUTH_SECRET="${NEXTAUTH_SECRET:-dev-only-mesh-secret-change-me-0123456789abcdef}"
export NEXTAUTH_SECRET_PREVIOUS="${NEXTAUTH_SECRET_PREVIOUS:-}"
export NEXTAUTH_ISSUER="${NEXTAUTH_ISSUER:-}" NEXTAUTH_AUDIENCE="${NEXTAUTH_AUDIENCE:-}"
export NEXTAUTH_JWT_FORMAT=jws HOST=127.0.0.1
export NEXTAUTH_SECRET_FILE= # Django-only alternative to the variables above: not here
mode=${MESH_MODE:-hs256}

# Go in GOPATH mode over Debian's packages (no module downloads). Debian installs golang-jwt v4
# at github.com/golang-jwt/jwt; a throw-away GOPATH maps the module path main.go imports onto it.
build=${TMPDIR:-/tmp}/django-nextauth-jwt-mesh
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/github.com/gin-gonic/gin ]; then
  echo "Go with Debian's gin and golang-jwt is needed: make system" >&2
  exit 1
fi
mkdir -p "$build/gopath/src/github.com/golang-jwt/jwt"
ln -sfn /usr/share/gocode/src/github.com/golang-jwt/jwt "$build/gopath/src/github.com/golang-jwt/jwt/v4"
echo "Building the Go service..."
(cd example_project/services/go &&
  GO111MODULE=off GOPATH="$build/gopath:/usr/share/gocode" GOPROXY=off GOFLAGS= CGO_ENABLED=0 \
    go build -o "$build/whoami-go" .)

neighbour_env=()
if [ "$mode" = asymmetric ]; then
  key=${NEXTAUTH_SIGNING_KEY_FILE:-$build/signing-ed25519.pem}
  mkdir -p "$build"
  if [ ! -f "$key" ]; then
    (umask 077 && "$python" -c 'import sys
from cryptography.hazmat.primitives import serialization as s
from cryptography.hazmat.primitives.asymmetric import ed25519
key = ed25519.Ed25519PrivateKey.generate()
sys.stdout.write(key.private_bytes(s.Encoding.PEM, s.PrivateFormat.PKCS8, s.NoEncryption()).decode())' >"$key")
  fi
  # Django signs and holds the only private key; nobody holds a secret.
  export NEXTAUTH_JWT_FORMAT=jws-asymmetric NEXTAUTH_SIGNING_KEY_FILE=$key NEXTAUTH_SECRET= NEXTAUTH_SECRET_PREVIOUS=
  neighbour_env=(env NEXTAUTH_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json NEXTAUTH_SIGNING_KEY_FILE=)
elif [ "$mode" != hs256 ]; then
  echo "MESH_MODE: hs256 (the default) or asymmetric" >&2
  exit 1
fi

(cd example_project && "$python" manage.py migrate --noinput -v 0 && "$python" manage.py ensure_demo_user)

pids=()
start() { # start <dir> <port> <command...>: each service in its own process group
  local dir=$1 port=$2
  shift 2
  (cd "$dir" && PORT=$port exec setsid "$@") &
  pids+=("$!")
}
stop() {
  trap - INT TERM EXIT
  echo
  echo "Stopping the mesh..."
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

start example_project 8000 "$python" manage.py runserver 127.0.0.1:8000
start example_project/services/express 8001 "${neighbour_env[@]}" node server.mjs
start example_project/services/fastapi 8002 "${neighbour_env[@]}" "$python" -m uvicorn main:app --host 127.0.0.1 --port 8002
start example_project/services/go 8003 "${neighbour_env[@]}" "$build/whoami-go"

cat <<EOF

The mesh is up ($mode); every service verifies the same token$([ "$mode" = asymmetric ] && echo ", with Django's public key" || echo " with the same secret"):
  TOKEN=\$(curl -s http://127.0.0.1:8000/api/auth/custom-login -H 'Content-Type: application/json' \\
    -d '{"email": "demo@example.com", "password": "demo-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:8000/api/me/
  for port in 8001 8002 8003; do curl -H "Authorization: Bearer \$TOKEN" http://127.0.0.1:\$port/whoami; echo; done
Ctrl-C stops all four.

EOF
# Stop everything as soon as one service exits (a port in use, a crash) or on Ctrl-C.
wait -n "${pids[@]}" || true
