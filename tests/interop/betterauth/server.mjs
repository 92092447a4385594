#!/usr/bin/env node
// A real Better Auth server for the interop tests: email and password sign-in, the JWT plugin
// (EdDSA by default, or the key pair of BETTER_AUTH_JWT_ALG), the memory adapter as its
// embedded database (no native module, nothing outside npm).
//
//   GET  /healthz                  200 {ok: true}
//   POST /api/auth/sign-up/email   {email, password, name} -> a session cookie
//   GET  /api/auth/token           with that cookie -> {token}: the JWT plugin's token
//   GET  /api/auth/jwks            the public keys (JWKS)
//
// With BETTER_AUTH_COOKIE_CACHE=compact|jwt|jwe the session cookie cache is on, in that
// strategy (better-auth.session_data, re-issued every BETTER_AUTH_COOKIE_CACHE_MAX_AGE
// seconds, 300 by default); BETTER_AUTH_SECRETS ("2:new,1:old") is read by Better Auth itself;
// BETTER_AUTH_ROLE is the role (an additional user field) new users get; with DJANGO_SIGNOUT_URL
// every deleted session is posted there (django-signout.mjs).
//
// Run: PORT=... BETTER_AUTH_URL=http://127.0.0.1:PORT node server.mjs
import { createServer } from "node:http";
import { betterAuth } from "better-auth";
import { memoryAdapter } from "better-auth/adapters/memory";
import { toNodeHandler } from "better-auth/node";
import { jwt } from "better-auth/plugins/jwt";
import { djangoSignOut } from "./django-signout.mjs";

const port = Number(process.env.PORT ?? 3005);
const host = process.env.HOST ?? "127.0.0.1";
const baseURL = process.env.BETTER_AUTH_URL ?? `http://${host}:${port}`;
const alg = process.env.BETTER_AUTH_JWT_ALG || "EdDSA";
const keyPairConfig = {
  EdDSA: { alg: "EdDSA", crv: "Ed25519" },
  ES256: { alg: "ES256" },
  RS256: { alg: "RS256", modulusLength: 2048 },
}[alg];
if (!keyPairConfig) {
  console.error(`BETTER_AUTH_JWT_ALG: one of EdDSA, ES256, RS256, not ${alg}`);
  process.exit(1);
}

const cookieCache = process.env.BETTER_AUTH_COOKIE_CACHE;
if (cookieCache && !["compact", "jwt", "jwe"].includes(cookieCache)) {
  console.error(`BETTER_AUTH_COOKIE_CACHE: one of compact, jwt, jwe, not ${cookieCache}`);
  process.exit(1);
}

const db = { user: [], session: [], account: [], verification: [], jwks: [] };

export const auth = betterAuth({
  baseURL,
  secret: process.env.BETTER_AUTH_SECRET ?? "better-auth-test-secret-0123456789-abcdefghij",
  database: memoryAdapter(db),
  emailAndPassword: { enabled: true, autoSignIn: true },
  user: {
    additionalFields: {
      role: {
        type: "string",
        required: false,
        input: false,
        defaultValue: process.env.BETTER_AUTH_ROLE || "user",
      },
    },
  },
  session: cookieCache
    ? {
        cookieCache: {
          enabled: true,
          strategy: cookieCache,
          maxAge: Number(process.env.BETTER_AUTH_COOKIE_CACHE_MAX_AGE || 300),
        },
      }
    : {},
  plugins: [jwt({ jwks: { keyPairConfig } })],
  databaseHooks: process.env.DJANGO_SIGNOUT_URL
    ? djangoSignOut(process.env.DJANGO_SIGNOUT_URL)
    : undefined,
  telemetry: { enabled: false },
});

const handler = toNodeHandler(auth);
createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ ok: true }));
    return;
  }
  if (req.method === "POST" && req.url?.startsWith("/test/verify-email?email=")) {
    // What an email verification link does: the person proved the address. Test-only.
    const email = decodeURIComponent(req.url.slice("/test/verify-email?email=".length));
    const user = db.user.find((u) => u.email === email.toLowerCase());
    if (user) user.emailVerified = true;
    res.writeHead(user ? 204 : 404);
    res.end();
    return;
  }
  handler(req, res);
}).listen(port, host, () => console.error(`better-auth on ${baseURL}`));
