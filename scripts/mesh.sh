#!/usr/bin/env bash
# Start the example mesh locally: the Next.js front end and four services, one secret, all on the
# host name 127.0.0.1 so that the browser shares the session cookie between Next.js and Django
# (cookies are per host name, not per port). Ctrl-C stops them all.
#   Next.js http://127.0.0.1:3000   NEXTJS_PORT   (nextjs: NextAuth, the front end; open this one)
#   Django  http://127.0.0.1:8000   DJANGO_PORT   (example_project under uvicorn: HTTP and the
#                                                  WebSocket the protected page opens)
#   Express http://127.0.0.1:8001   EXPRESS_PORT  (services/express, jose)
#   FastAPI http://127.0.0.1:8002   FASTAPI_PORT  (services/fastapi, PyJWT)
#   Go      http://127.0.0.1:8003   GO_PORT       (services/go, gin + golang-jwt, Debian's sources)
#   Verifier http://127.0.0.1:8004  VERIFIER_PORT (MESH_MODE=asymmetric only: a second Django)
# A default port that is taken moves to the next free one (said as it starts); a port set in its
# variable must be free, or the script stops before building anything, naming the variable
# (scripts/mesh-ports.py).
# `make mesh` runs it after setting up .venv, the node_modules and the Next.js build
# (scripts/build-nextjs.sh). The token format and the NextAuth version are chosen here:
#   NEXTAUTH_JWT_FORMAT=jws (default) | nextauth-v4 | authjs-v5     NEXTAUTH_VERSION=4 | 5
# e.g. `NEXTAUTH_JWT_FORMAT=authjs-v5 make mesh` (Auth.js 5). Express, FastAPI and Go verify jws
# only: a JWE format is theirs to refuse (401 token_unsupported), and the banner says so.
# NEXTAUTH_SECRET_PREVIOUS (a rotation), NEXTAUTH_ISSUER and NEXTAUTH_AUDIENCE reach all five.
#
# MESH_MODE=asymmetric make mesh: no secret anywhere. Django signs with an Ed25519 key (made once
# under $TMPDIR, or NEXTAUTH_SIGNING_KEY_FILE) and publishes it at /.well-known/jwks.json; the
# three neighbours get only that URL (NEXTAUTH_JWKS_URL) and verify with the public key, and so
# does a second Django instance, the verifier, which holds neither a secret nor a private key. The
# Next.js front end is not started in this mode (sign in on Django's own page, or with curl).
#
# MESH_MODE=better-auth make mesh: the Better Auth front end (example_project/nextjs-better-auth)
# on NEXTJS_PORT instead of NextAuth: Better Auth's own accounts (email and password; the demo
# account is made at start-up, in memory), its session cookie cache in the strategy of
# BETTER_AUTH_COOKIE_CACHE (compact, jwt or jwe), which Django reads with Better Auth's secret
# (BETTER_AUTH_SECRET, a development one by default); sign-outs reach Django through the app's
# database hook. Express, FastAPI and Go run as in the default mode (NextAuth-format tokens).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=$root/.venv/bin/python

mode=${MESH_MODE:-hs256}
case $mode in
  hs256) names=(NEXTJS_PORT=3000) ;;
  asymmetric) names=(VERIFIER_PORT=8004) ;; # no Next.js front end; a Django verifier
  better-auth) names=(NEXTJS_PORT=3000) ;;  # the Better Auth front end
  *)
    echo "MESH_MODE: hs256 (the default), asymmetric or better-auth" >&2
    exit 1
    ;;
esac
# Every port before anything is built: a taken one stops here, naming its variable.
ports=$("$python" scripts/mesh-ports.py "${names[@]}" DJANGO_PORT=8000 EXPRESS_PORT=8001 \
  FASTAPI_PORT=8002 GO_PORT=8003) || exit 1
eval "$ports"
NEXTJS_PORT=${NEXTJS_PORT:-3000}

# A development command, so DEBUG explicitly (Django's built-in development SECRET_KEY), and
# the development NEXTAUTH_SECRET of example_project/mesh/settings.py, shared by all five.
export DJANGO_DEBUG=1 DJANGO_SETTINGS_MODULE=mesh.settings # the example's, whatever the shell says
export NEXTAUTH_SECRET="${NEXTAUTH_SECRET:-dev-only-mesh-secret-change-me-0123456789abcdef}"
export NEXTAUTH_SECRET_PREVIOUS="${NEXTAUTH_SECRET_PREVIOUS:-}"
export NEXTAUTH_ISSUER="${NEXTAUTH_ISSUER:-}" NEXTAUTH_AUDIENCE="${NEXTAUTH_AUDIENCE:-}"
export NEXTAUTH_JWT_FORMAT="${NEXTAUTH_JWT_FORMAT:-jws}" HOST=127.0.0.1
export NEXTAUTH_SECRET_FILE= # Django-only alternative to the variables above: not here
if [ "$NEXTAUTH_JWT_FORMAT" = authjs-v5 ]; then
  export NEXTAUTH_VERSION="${NEXTAUTH_VERSION:-5}"
else
  export NEXTAUTH_VERSION="${NEXTAUTH_VERSION:-4}"
fi
# Django reads and writes the cookie NextAuth uses; it sends the browser back to Next.js after
# its own sign-in, and trusts the Next.js origin for browser posts and for the WebSocket that
# the protected page opens to Django with that cookie.
nextjs=http://127.0.0.1:$NEXTJS_PORT
if [ "$NEXTAUTH_VERSION" = 5 ]; then
  export NEXTAUTH_COOKIE_NAME=authjs.session-token
else
  export NEXTAUTH_COOKIE_NAME=next-auth.session-token
fi
export NEXTAUTH_ALLOWED_REDIRECT_ORIGINS=$nextjs CSRF_TRUSTED_ORIGINS=$nextjs
export NEXTAUTH_WEBSOCKET_ORIGINS=$nextjs
export DJANGO_URL=http://127.0.0.1:$DJANGO_PORT EXPRESS_URL=http://127.0.0.1:$EXPRESS_PORT
export FASTAPI_URL=http://127.0.0.1:$FASTAPI_PORT GO_URL=http://127.0.0.1:$GO_PORT
export NEXT_TELEMETRY_DISABLED=1
if [ "$mode" = better-auth ]; then
  # One secret and one strategy for Better Auth and Django (which reads BETTER_AUTH_SECRET too).
  export BETTER_AUTH_SECRET="${BETTER_AUTH_SECRET:-dev-only-better-auth-secret-change-me-0123456789}"
  export BETTER_AUTH_COOKIE_CACHE="${BETTER_AUTH_COOKIE_CACHE:-compact}"
  export NEXTAUTH_BETTER_AUTH_STRATEGY=$BETTER_AUTH_COOKIE_CACHE
fi

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
  neighbour_env=(env "NEXTAUTH_JWKS_URL=$DJANGO_URL/.well-known/jwks.json" NEXTAUTH_SIGNING_KEY_FILE=)
  export VERIFIER_URL=http://127.0.0.1:$VERIFIER_PORT
elif [ "$mode" = better-auth ]; then
  bash scripts/build-nextjs.sh example_project/nextjs-better-auth
else
  bash scripts/build-nextjs.sh
fi

# The demo accounts. Their command prints `make run`'s how-to-sign-in text: the mesh has its
# own banner, below, so that text is not shown.
(cd example_project && "$python" manage.py migrate --noinput -v 0 &&
  "$python" manage.py ensure_demo_user >/dev/null)

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

# Under an ASGI server (runserver serves no WebSockets), in one process: the sign-out that
# writes the embedded deny-list closes that session's open sockets at once. (migrate, above,
# has run the system checks.)
start example_project "$DJANGO_PORT" "$python" -m uvicorn mesh.asgi:application \
  --host 127.0.0.1 --port "$DJANGO_PORT"
start example_project/services/express "$EXPRESS_PORT" "${neighbour_env[@]}" node server.mjs
start example_project/services/fastapi "$FASTAPI_PORT" "${neighbour_env[@]}" \
  "$python" -m uvicorn main:app --host 127.0.0.1 --port "$FASTAPI_PORT"
start example_project/services/go "$GO_PORT" "${neighbour_env[@]}" "$build/whoami-go"
if [ "$mode" = asymmetric ]; then
  # The same example as a pure verifier: jws-asymmetric, the issuer's JWKS URL, nothing else.
  start example_project "$VERIFIER_PORT" "${neighbour_env[@]}" \
    "$python" manage.py runserver "127.0.0.1:$VERIFIER_PORT"
fi
if [ "$mode" = hs256 ]; then
  # next-auth 4 takes its own origin from NEXTAUTH_URL; Auth.js 5 finds it from the request.
  next=(./node_modules/.bin/next start -H 127.0.0.1 -p "$NEXTJS_PORT")
  if [ "$NEXTAUTH_VERSION" = 4 ]; then
    start example_project/nextjs "$NEXTJS_PORT" env "NEXTAUTH_URL=$nextjs" "${next[@]}"
  else
    start example_project/nextjs "$NEXTJS_PORT" "${next[@]}"
  fi
fi
if [ "$mode" = better-auth ]; then
  start example_project/nextjs-better-auth "$NEXTJS_PORT" env "BETTER_AUTH_URL=$nextjs" \
    ./node_modules/.bin/next start -H 127.0.0.1 -p "$NEXTJS_PORT"
fi

# The one banner: what each service answers for this mode's token, as it is.
case $mode/$NEXTAUTH_JWT_FORMAT in
  asymmetric/*)
    what="Django signs with its private key (EdDSA) and publishes $DJANGO_URL/.well-known/jwks.json"
    neighbours="verifies with that public key, holds no secret: 200"
    ;;
  better-auth/*)
    what="Better Auth (email and password) with its session cookie cache in the $BETTER_AUTH_COOKIE_CACHE strategy, which Django verifies with Better Auth's secret"
    neighbours="verifies Django's own JWS (HS256, the curl below): 200; Better Auth's cookie is Django's to read"
    ;;
  */jws)
    what="NextAuth $NEXTAUTH_VERSION with the HS256 hooks: a signed JWS every service verifies"
    neighbours="verifies the JWS (HS256) with the secret: 200"
    ;;
  *)
    what="NextAuth $NEXTAUTH_VERSION's own encrypted token (JWE, $NEXTAUTH_JWT_FORMAT), which only Django and the Next.js app read"
    neighbours="verifies JWS only (a stock JWT library): 401 token_unsupported, as expected"
    ;;
esac
echo
echo "The mesh is up. $what."
if [ "$mode" = hs256 ]; then
  echo "  Next.js  $nextjs   open this one, sign in as demo@example.com / demo-password"
  echo "           (not http://localhost:$NEXTJS_PORT: it shares no cookie with Django)"
elif [ "$mode" = better-auth ]; then
  echo "  Next.js  $nextjs   open this one: sign up, or sign in as demo@example.com / demo-password"
  echo "           (Better Auth's accounts, in memory; not http://localhost:$NEXTJS_PORT: no cookie for Django)"
else
  echo "  (no Next.js front end in this mode: sign in on $DJANGO_URL/signin/ or with curl)"
fi
if [ "$mode" = better-auth ]; then
  echo "  Django   $DJANGO_URL   reads Better Auth's better-auth.session_data ($BETTER_AUTH_COOKIE_CACHE) and its own $NEXTAUTH_JWT_FORMAT: 200"
else
  echo "  Django   $DJANGO_URL   reads $NEXTAUTH_JWT_FORMAT: 200"
fi
echo "  Express  $EXPRESS_URL   $neighbours"
echo "  FastAPI  $FASTAPI_URL   $neighbours"
echo "  Go       $GO_URL   $neighbours"
verifier_curl=
if [ "$mode" = asymmetric ]; then
  echo "  Verifier $VERIFIER_URL   Django with no secret and no private key, verifies with that JWKS: 200"
  verifier_curl="
  curl -H \"Authorization: Bearer \$TOKEN\" $VERIFIER_URL/api/me/"
fi
if [ "$mode/$NEXTAUTH_JWT_FORMAT" != hs256/jws ] && [ "$mode" = hs256 ]; then
  echo "  For a token all four verify: NEXTAUTH_JWT_FORMAT=jws make mesh (NEXTAUTH_VERSION=5: Auth.js 5)."
fi
cat <<EOF
A token from Django's sign-in, asked of each service:
  TOKEN=\$(curl -s $DJANGO_URL/api/auth/custom-login -H 'Content-Type: application/json' \\
    -d '{"email": "demo@example.com", "password": "demo-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
  curl -H "Authorization: Bearer \$TOKEN" $DJANGO_URL/api/me/
  for url in $EXPRESS_URL $FASTAPI_URL $GO_URL; do curl -H "Authorization: Bearer \$TOKEN" \$url/whoami; echo; done$verifier_curl
Ctrl-C stops them all.

EOF
# Stop everything as soon as one service exits (a port in use, a crash) or on Ctrl-C.
wait -n "${pids[@]}" || true
