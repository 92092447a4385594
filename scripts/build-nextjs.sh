#!/usr/bin/env bash
# Build the example's Next.js app (example_project/nextjs, or the folder given, e.g.
# example_project/nextjs-better-auth) once: `next build` runs only when its sources or lockfile
# changed since the last build (a hash kept in .next/). One build serves every variant:
# NEXTAUTH_VERSION and NEXTAUTH_JWT_FORMAT (BETTER_AUTH_COOKIE_CACHE) are read when `next start`
# starts. Used by `make mesh` and by the browser tests; concurrent callers wait for one build (flock).
set -euo pipefail
folder=${1:-example_project/nextjs}
app="$(cd "$(dirname "$0")/../$folder" && pwd)"
cd "$app"
if [ ! -d node_modules/next ]; then
  echo "$folder/node_modules is missing: make install (npm ci)" >&2
  exit 1
fi
export NEXT_TELEMETRY_DISABLED=1
# Everything `next build` reads, except what it writes (.next, next-env.d.ts, tsconfig.tsbuildinfo),
# and the files outside the folder that the app imports, listed in its build-inputs.txt if any.
sources_hash() {
  {
    find . \( -path ./node_modules -o -path ./.next \) -prune -o -type f \
      ! -name next-env.d.ts ! -name tsconfig.tsbuildinfo -print0
    if [ -f build-inputs.txt ]; then grep -v '^#' build-inputs.txt | grep . | tr '\n' '\0'; fi
  } | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
}
exec 9>"${TMPDIR:-/tmp}/django-nextauth-jwt-nextjs-build.$(echo "$app" | sha256sum | cut -c1-12).lock"
flock 9
hash="$(sources_hash)"
if [ -f .next/BUILD_ID ] && [ "$(cat .next/.sources-hash 2>/dev/null)" = "$hash" ]; then
  echo "Next.js app ($folder): up to date (.next)"
  exit 0
fi
echo "Building the Next.js app $folder (next build)..."
rm -f .next/.sources-hash
# The build must not depend on a variant: no NextAuth or service settings leak into it.
env -u NEXTAUTH_URL -u AUTH_URL -u NEXTAUTH_SECRET -u AUTH_SECRET -u NEXTAUTH_JWT_FORMAT -u NEXTAUTH_VERSION \
  -u BETTER_AUTH_URL -u BETTER_AUTH_SECRET -u BETTER_AUTH_SECRETS -u BETTER_AUTH_COOKIE_CACHE \
  ./node_modules/.bin/next build
echo "$hash" > .next/.sources-hash
