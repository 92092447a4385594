#!/usr/bin/env node
// Better Auth's own cookie-cache code, driven line by line from the Python tests (JSON lines in,
// JSON lines out: {id, op, ...} -> {id, ok, result | error}). Nothing here re-implements Better
// Auth: each operation calls the installed package's functions.
//
//   reserialize   {text}                       what the compact HMAC covers for that cookie JSON:
//                                              JSON.stringify({...session, expiresAt}) after
//                                              Better Auth's own parse (or null when refused)
//   signCompact   {text, secret}               a compact cookie of that JSON, signed over it
//   getCookieCache {cookie, secret, strategy, isSecure, version}
//                                              better-auth/cookies getCookieCache on that Cookie
//                                              header: the payload, or null when refused
import { createInterface } from "node:readline";
import { getCookieCache } from "better-auth/cookies";
import { parseCompactCookieCache } from "./node_modules/better-auth/dist/cookies/cache.mjs";
import { base64Url } from "@better-auth/utils/base64";
import { createHMAC } from "@better-auth/utils/hmac";

function reserialize(text) {
  const parsed = parseCompactCookieCache(JSON.parse(text));
  return parsed ? JSON.stringify({ ...parsed.session, expiresAt: parsed.expiresAt }) : null;
}

const ops = {
  reserialize: ({ text }) => reserialize(text),
  async signCompact({ text, secret }) {
    const signed = reserialize(text);
    const signature = await createHMAC("SHA-256", "base64urlnopad").sign(secret, signed);
    // The cookie keeps the text's own session JSON: only the signature is filled in.
    const body = text.replace('"signature":"?"', `"signature":"${signature}"`);
    if (body === text) throw new Error('the text needs "signature":"?"');
    return base64Url.encode(body, { padding: false });
  },
  async getCookieCache({ cookie, secret, strategy, isSecure, version }) {
    const headers = new Headers({ cookie });
    return await getCookieCache(headers, { secret, strategy, isSecure, version });
  },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const { id, op, ...args } = JSON.parse(line);
  let reply;
  try {
    reply = { id, ok: true, result: (await ops[op](args)) ?? null };
  } catch (error) {
    reply = { id, ok: false, error: `${error?.name}: ${error?.message}` };
  }
  process.stdout.write(`${JSON.stringify(reply)}\n`);
}
