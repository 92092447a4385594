#!/usr/bin/env node
// JSON-lines RPC bridge to the real NextAuth / Auth.js / jose packages.
//
// stdin:  one JSON object per line: {"id": <int>, "op": "<name>", ...args}
// stdout: exactly one line per request:
//           {"id": <same>, "ok": true, "result": <any>}
//           {"id": <same>, "ok": false, "error": "<ErrorClassName>: <message>"}
// Requests are handled strictly in order, one at a time. Nothing else is
// written to stdout (diagnostics go to stderr). Exits when stdin closes.

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// Keep stdout reserved for protocol lines, whatever a library might log.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

// next-auth 4's getToken derives secureCookie/secret defaults from these;
// make the bridge deterministic (callers pass everything explicitly).
for (const name of ["NEXTAUTH_URL", "NEXTAUTH_SECRET", "AUTH_SECRET", "VERCEL", "AUTH_URL"]) {
  delete process.env[name];
}

import * as v4jwt from "next-auth/jwt";
import * as v5jwt from "@auth/core/jwt";
import * as jose from "jose";
import * as hs256 from "../../../example_project/nextjs/jwt-hs256.mjs";
import * as asymmetric from "../../../example_project/nextjs/jwt-asymmetric.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
// Parse cookies with the same `cookie` package next-auth 4 depends on
// (Next.js API routes hand getToken a pre-parsed `req.cookies` object).
const nextAuthRequire = createRequire(require.resolve("next-auth/jwt"));
const { parse: parseCookieHeader } = nextAuthRequire("cookie");

const stderrLogger = {
  error: (...a) => console.error("[logger.error]", ...a),
  warn: (...a) => console.error("[logger.warn]", ...a),
  debug: (...a) => console.error("[logger.debug]", ...a),
};

const enc = new TextEncoder();
const opt = (v) => (v === null ? undefined : v);

function pkgVersion(name) {
  const file = join(HERE, "node_modules", ...name.split("/"), "package.json");
  return JSON.parse(readFileSync(file, "utf8")).version;
}

function lowerHeaders(headers) {
  const out = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = String(v);
  return out;
}

function requireString(v, what) {
  if (typeof v !== "string") throw new TypeError(`${what} must be a string`);
  return v;
}

async function joseVerify({ token, secret, alg, issuer, audience, clockTolerance }) {
  const options = { algorithms: [opt(alg) ?? "HS256"], requiredClaims: ["exp"] };
  if (opt(issuer) !== undefined) options.issuer = issuer;
  if (opt(audience) !== undefined) options.audience = audience;
  if (opt(clockTolerance) !== undefined) options.clockTolerance = clockTolerance;
  const { payload } = await jose.jwtVerify(requireString(token, "token"), enc.encode(requireString(secret, "secret")), options);
  return payload;
}

// The little of Next.js's API-route response that next-auth 4's handler uses.
function fakeResponse() {
  const headers = {};
  const res = {
    statusCode: 200,
    sent: undefined,
    status(code) { this.statusCode = code; return this; },
    setHeader(key, value) { headers[key.toLowerCase()] = value; return this; },
    getHeader(key) { return headers[key.toLowerCase()]; },
    json(body) { this.sent = JSON.stringify(body); return this; },
    send(body) { this.sent = typeof body === "string" ? body : JSON.stringify(body); return this; },
    end() { return this; },
    setCookies() {
      const value = headers["set-cookie"];
      return value === undefined ? [] : Array.isArray(value) ? value : [value];
    },
  };
  return res;
}

// Run `fn(call)` against the real next-auth 4 handler configured by nextauth-v4.mjs;
// call(jar, method, action, body, headers) updates the cookie jar from Set-Cookie.
// `env`: the Next.js app's own settings for this call (NEXTAUTH_MAX_AGE,
// NEXTAUTH_SESSION_MAX_LIFETIME), read by example_project/nextjs/ when the handler runs.
function withEnv(env) {
  const names = Object.keys(env ?? {});
  for (const name of names) process.env[name] = String(env[name]);
  return () => { for (const name of names) delete process.env[name]; };
}

async function withV4({ djangoUrl, secret, format, privateJwk, env }, fn) {
  const nextAuthModule = (await import("next-auth")).default;
  const NextAuth = nextAuthModule.default ?? nextAuthModule;
  const { authOptions } = await import("../../../example_project/nextjs/nextauth-v4.mjs");
  process.env.DJANGO_URL = djangoUrl;
  process.env.NEXTAUTH_URL = "http://localhost:3000";
  process.env.NEXTAUTH_SECRET = secret;
  const restore = withEnv(env);
  try {
    const options = authOptions({ format });
    if (opt(privateJwk) !== undefined) options.jwt = asymmetric.asymmetricJwt({ privateJwk });
    const call = async (jar, method, action, body, headers) => {
      const res = fakeResponse();
      const req = {
        method,
        query: { nextauth: action },
        body: body ?? {},
        cookies: { ...jar },
        headers: {
          host: "localhost:3000",
          "content-type": "application/x-www-form-urlencoded",
          ...lowerHeaders(headers),
        },
      };
      await NextAuth(req, res, options);
      for (const header of res.setCookies()) remember(jar, header, true);
      return res;
    };
    return await fn(call);
  } finally {
    delete process.env.NEXTAUTH_URL;
    delete process.env.NEXTAUTH_SECRET;
    restore();
  }
}

// The same against @auth/core's Auth() configured by authjs-v5.mjs.
async function withV5({ djangoUrl, secret, format, env }, fn) {
  const { Auth } = await import("@auth/core");
  const { authConfig } = await import("../../../example_project/nextjs/authjs-v5.mjs");
  process.env.DJANGO_URL = djangoUrl;
  process.env.AUTH_SECRET = secret;
  const restore = withEnv(env);
  try {
    const config = authConfig({ format });
    const base = "http://localhost:3000/api/auth";
    const call = async (jar, method, action, body, headers) => {
      const cookie = Object.entries(jar).map(([k, v]) => `${k}=${v}`).join("; ");
      const init = { method, headers: { cookie, ...lowerHeaders(headers) } };
      if (body !== undefined) {
        init.body = body;
        init.headers["content-type"] = "application/x-www-form-urlencoded";
      }
      const response = await Auth(new Request(`${base}/${action}`, init), config);
      for (const header of response.headers.getSetCookie()) remember(jar, header, false);
      return response;
    };
    return await fn(call);
  } finally {
    delete process.env.AUTH_SECRET;
    restore();
  }
}

// Apply one Set-Cookie to a jar: an expired cookie leaves it, like a browser.
function remember(jar, header, decode) {
  const [pair, ...attributes] = header.split(";");
  const at = pair.indexOf("=");
  const name = pair.slice(0, at);
  const value = pair.slice(at + 1);
  const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
  if (expired || value === "") delete jar[name];
  else jar[name] = decode ? decodeURIComponent(value) : value;
}

const ops = {
  ping: async () => "pong",

  versions: async () => ({
    "next-auth": pkgVersion("next-auth"),
    "@auth/core": pkgVersion("@auth/core"),
    jose: pkgVersion("jose"),
    node: process.version,
  }),

  // ---- next-auth 4 -------------------------------------------------------
  "v4.encode": async ({ token, secret, maxAge, salt }) =>
    v4jwt.encode({ token, secret: requireString(secret, "secret"), maxAge: opt(maxAge), salt: opt(salt) }),

  "v4.decode": async ({ token, secret, salt }) =>
    (await v4jwt.decode({ token, secret: requireString(secret, "secret"), salt: opt(salt) })) ?? null,

  "v4.getToken": async ({ headers, cookies, secret, secureCookie, cookieName, raw, hooks }) => {
    // next-auth 4's SessionStore reads ONLY req.cookies (object, Map or
    // {getAll()}); req.headers.cookie is ignored. The Bearer fallback reads
    // req.headers.authorization (plain object or Headers).
    const h = lowerHeaders(headers);
    const req = {
      headers: h,
      cookies: opt(cookies) ?? (h.cookie !== undefined ? parseCookieHeader(h.cookie) : {}),
    };
    const result = await v4jwt.getToken({
      req,
      secret: requireString(secret, "secret"),
      secureCookie: opt(secureCookie) ?? false,
      cookieName: opt(cookieName),
      raw: opt(raw),
      decode: hooks === "hs256" ? hs256.decode : undefined,
      logger: stderrLogger,
    });
    return result ?? null;
  },

  // ---- the documented NextAuth configuration (example_project/nextjs/) -----
  // A whole credentials sign-in through the real NextAuth handler, whose
  // authorize() calls Django's custom-login. Returns the cookies it sets.
  // `headers` are the browser's request headers as NextAuth sees them (x-forwarded-for).
  // With `privateJwk`, the documented key-pair hooks (jwt-asymmetric.mjs) sign the session.
  "v4.signin": async ({ email, password, djangoUrl, secret, format, headers, privateJwk, env }) =>
    withV4({ djangoUrl, secret, format, privateJwk, env }, async (call) => {
      const jar = {};
      const csrf = JSON.parse((await call(jar, "GET", ["csrf"])).sent);
      const done = await call(jar, "POST", ["callback", "credentials"], {
        csrfToken: csrf.csrfToken, email, password, json: "true",
      }, headers);
      return { status: done.statusCode, body: done.sent ?? null, cookies: jar };
    }),

  // GET session: NextAuth 4 re-encodes the session token (a refresh: new jti, iat, exp).
  "v4.session": async ({ cookies, djangoUrl, secret, format, env }) =>
    withV4({ djangoUrl, secret, format, env }, async (call) => {
      const jar = { ...cookies };
      const done = await call(jar, "GET", ["session"]);
      return { body: JSON.parse(done.sent ?? "null"), cookies: jar };
    }),

  // POST signout: events.signOut runs (and calls Django); the cookie is cleared.
  "v4.signout": async ({ cookies, djangoUrl, secret, format, env }) =>
    withV4({ djangoUrl, secret, format, env }, async (call) => {
      const jar = { ...cookies };
      const csrf = JSON.parse((await call(jar, "GET", ["csrf"])).sent);
      const done = await call(jar, "POST", ["signout"], { csrfToken: csrf.csrfToken, json: "true" });
      return { status: done.statusCode, cookies: jar };
    }),

  "v5.signin": async ({ email, password, djangoUrl, secret, format, headers, env }) =>
    withV5({ djangoUrl, secret, format, env }, async (call) => {
      const jar = {};
      const { csrfToken } = await (await call(jar, "GET", "csrf")).json();
      const form = new URLSearchParams({ csrfToken, email, password });
      const done = await call(jar, "POST", "callback/credentials", form, headers);
      return { status: done.status, location: done.headers.get("location"), cookies: jar };
    }),

  "v5.session": async ({ cookies, djangoUrl, secret, format, env }) =>
    withV5({ djangoUrl, secret, format, env }, async (call) => {
      const jar = { ...cookies };
      const done = await call(jar, "GET", "session");
      return { body: await done.json(), cookies: jar };
    }),

  "v5.signout": async ({ cookies, djangoUrl, secret, format, env }) =>
    withV5({ djangoUrl, secret, format, env }, async (call) => {
      const jar = { ...cookies };
      const { csrfToken } = await (await call(jar, "GET", "csrf")).json();
      const done = await call(jar, "POST", "signout", new URLSearchParams({ csrfToken }));
      return { status: done.status, cookies: jar };
    }),

  // The documented client-address header (example_project/nextjs/django.mjs).
  // `env`: NEXTAUTH_CLIENT_ADDRESS_HEADER and NEXTAUTH_TRUSTED_PROXY_COUNT, as the server has them.
  "django.clientAddressHeader": async ({ headers, secret, env }) => {
    const { clientAddressHeader } = await import("../../../example_project/nextjs/django.mjs");
    return clientAddressHeader({ headers: lowerHeaders(headers) }, requireString(secret, "secret"), opt(env) ?? {});
  },

  // ---- the documented HS256 hooks (example_project/nextjs/jwt-hs256.mjs) ---
  "hs256.encode": async ({ token, secret, maxAge }) => hs256.encode({ token, secret, maxAge: opt(maxAge) }),
  "hs256.decode": async ({ token, secret }) => (await hs256.decode({ token, secret })) ?? null,

  // ---- @auth/core (next-auth 5) -----------------------------------------
  "v5.encode": async ({ token, secret, salt, maxAge }) =>
    v5jwt.encode({ token, secret, salt: requireString(salt, "salt"), maxAge: opt(maxAge) }),

  "v5.decode": async ({ token, secret, salt }) =>
    (await v5jwt.decode({ token, secret, salt: requireString(salt, "salt") })) ?? null,

  "v5.getToken": async ({ headers, secret, secureCookie, cookieName, salt, raw, hooks }) => {
    const req = new Request("http://localhost/", { headers: lowerHeaders(headers) });
    const result = await v5jwt.getToken({
      req,
      secret,
      secureCookie: opt(secureCookie),
      cookieName: opt(cookieName),
      salt: opt(salt),
      raw: opt(raw),
      decode: hooks === "hs256" ? hs256.decode : undefined,
      logger: stderrLogger,
    });
    return result ?? null;
  },

  // ---- jose (plain HS* JWS) ---------------------------------------------
  "jose.sign": async ({ claims, secret, alg, header }) =>
    new jose.SignJWT(claims ?? {})
      .setProtectedHeader({ alg: opt(alg) ?? "HS256", typ: "JWT", ...(header ?? {}) })
      .sign(enc.encode(requireString(secret, "secret"))),

  "jose.verify": joseVerify,

  "jose.decodeProtectedHeader": async ({ token }) => jose.decodeProtectedHeader(requireString(token, "token")),

  // ---- the documented key-pair hooks (example_project/nextjs/jwt-asymmetric.mjs)
  "asym.encode": async ({ token, privateJwk, maxAge, issuer, audience }) =>
    asymmetric.asymmetricJwt({ privateJwk, issuer: opt(issuer), audience: opt(audience) })
      .encode({ token, maxAge: opt(maxAge) }),

  "asym.decode": async ({ token, jwks, jwksUrl, issuer, audience }) =>
    (await asymmetric.asymmetricJwt({ jwks: opt(jwks), jwksUrl: opt(jwksUrl), issuer: opt(issuer), audience: opt(audience) })
      .decode({ token })) ?? null,

  "asym.jwks": async ({ privateJwks }) => asymmetric.jwksDocument(privateJwks),

  // next-auth 4's getToken reading a cookie with the key-pair decode hook over a JWK Set.
  "asym.v4.getToken": async ({ headers, jwks }) => {
    const h = lowerHeaders(headers);
    const req = { headers: h, cookies: h.cookie !== undefined ? parseCookieHeader(h.cookie) : {} };
    const { decode } = asymmetric.asymmetricJwt({ jwks });
    // getToken insists on a secret even when the decode hook needs none.
    const result = await v4jwt.getToken({ req, secret: "unused-by-the-key-pair-hooks", decode, logger: stderrLogger });
    return result ?? null;
  },

  // Plain jose over a JWK Set: the Express neighbour's verification, without Express.
  "jose.verifyJwks": async ({ token, jwks, algorithms, issuer, audience }) => {
    const options = { algorithms: opt(algorithms) ?? ["EdDSA", "ES256", "RS256"], requiredClaims: ["exp"] };
    if (opt(issuer) !== undefined) options.issuer = issuer;
    if (opt(audience) !== undefined) options.audience = audience;
    const { payload, protectedHeader } = await jose.jwtVerify(requireString(token, "token"), jose.createLocalJWKSet(jwks), options);
    return { payload, header: protectedHeader };
  },

  // ---- micro-benchmark ----------------------------------------------------
  bench: async ({ target, tokens, secret, salt, alg, rounds }) => {
    if (!Array.isArray(tokens) || tokens.length === 0) throw new TypeError("tokens must be a non-empty array");
    let fn;
    if (target === "v4.decode") {
      requireString(secret, "secret");
      fn = (token) => v4jwt.decode({ token, secret, salt: opt(salt) });
    } else if (target === "v5.decode") {
      requireString(salt, "salt");
      fn = (token) => v5jwt.decode({ token, secret, salt });
    } else if (target === "jose.verify") {
      fn = (token) => joseVerify({ token, secret, alg });
    } else if (target === "jose.verifyJwks") {
      const keySet = jose.createLocalJWKSet(secret);
      fn = (token) => jose.jwtVerify(token, keySet, { algorithms: [alg] });
    } else {
      throw new TypeError(`unknown bench target: ${target}`);
    }
    const r = opt(rounds) ?? 1;
    if (!Number.isInteger(r) || r < 1) throw new TypeError("rounds must be a positive integer");
    const pass = async () => {
      for (const t of tokens) {
        const out = await fn(t);
        if (out === null || out === undefined) throw new Error(`${target} returned null`);
      }
    };
    await pass(); // warm-up
    const start = process.hrtime.bigint();
    for (let i = 0; i < r; i++) await pass();
    const elapsedNs = process.hrtime.bigint() - start;
    const n = r * tokens.length;
    return { us_per_op: Number(elapsedNs) / 1000 / n, n };
  },
};

function errorString(err) {
  if (err instanceof Error) {
    const cls = err.constructor && err.constructor.name && err.constructor.name !== "Object" ? err.constructor.name : err.name;
    return `${cls || "Error"}: ${err.message}`;
  }
  return `Error: ${String(err)}`;
}

function send(obj) {
  let line;
  try {
    line = JSON.stringify(obj);
  } catch (err) {
    line = JSON.stringify({ id: obj.id, ok: false, error: errorString(err) });
  }
  process.stdout.write(line + "\n");
}

async function handle(line) {
  let req;
  try {
    req = JSON.parse(line);
  } catch (err) {
    return { id: null, ok: false, error: errorString(err) };
  }
  if (req === null || typeof req !== "object" || Array.isArray(req)) {
    return { id: null, ok: false, error: "TypeError: request must be a JSON object" };
  }
  const id = req.id ?? null;
  const fn = typeof req.op === "string" && Object.hasOwn(ops, req.op) ? ops[req.op] : undefined;
  if (!fn) return { id, ok: false, error: `TypeError: unknown op: ${JSON.stringify(req.op)}` };
  try {
    const result = await fn(req);
    return { id, ok: true, result: result === undefined ? null : result };
  } catch (err) {
    return { id, ok: false, error: errorString(err) };
  }
}

process.on("unhandledRejection", (err) => console.error("[bridge] unhandledRejection:", err));
process.on("uncaughtException", (err) => console.error("[bridge] uncaughtException:", err));

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity, terminal: false });
for await (const raw of rl) {
  const line = raw.trim();
  if (!line) continue;
  send(await handle(line));
}
