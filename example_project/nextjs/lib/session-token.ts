// The session token itself, as the browser holds it, and its verification: the pure-JWT check
// middleware.ts runs on every protected request (no session store, no call to NextAuth's API).
import * as jwtV4 from "next-auth/jwt";
import * as jwtV5 from "next-auth-v5/jwt";
import * as jwtHs256 from "@/jwt-hs256.mjs";
import { withPolicy } from "@/jwt-policy.mjs";
import type { Settings } from "@/lib/settings";

/** A NextAuth `jwt` codec: what `jwt: { encode, decode }` takes (the parameters vary by library). */
export interface Codec {
  encode(params: any): Promise<string>;
  decode(params: any): Promise<Record<string, unknown> | null>;
}

/**
 * The token codec of this app's format and NextAuth version, under the mesh's rules: the first
 * secret signs, NEXTAUTH_SECRET_PREVIOUS still verifies, and iss / aud are written and required
 * when NEXTAUTH_ISSUER / NEXTAUTH_AUDIENCE are set (jwt-policy.mjs). NextAuth and the middleware
 * both use it, so the token they accept is the one every service accepts.
 */
export function tokenCodec(settings: Settings): Codec {
  const base = settings.format === "jws" ? jwtHs256 : settings.version === "5" ? jwtV5 : jwtV4;
  return withPolicy(base, settings) as Codec;
}

/** What both `request.cookies` (middleware) and `cookies()` (server components) offer. */
export interface CookieJar {
  get(name: string): { value: string } | undefined;
}

/**
 * The encoded session token: the cookie `name`, or its chunks `name.0`, `name.1`, ... joined
 * (NextAuth splits a token longer than about 3.9 kB). `undefined` when there is none.
 */
export function readSessionToken(jar: CookieJar, name: string): string | undefined {
  const chunks: string[] = [];
  for (let i = 0; ; i++) {
    const chunk = jar.get(`${name}.${i}`)?.value;
    if (!chunk) break;
    chunks.push(chunk);
  }
  return chunks.length > 0 ? chunks.join("") : jar.get(name)?.value || undefined;
}

export interface Claims {
  sub: string;
  exp: number;
  email?: string;
  name?: string;
  role?: string | null;
  [claim: string]: unknown;
}

/**
 * The token's claims if it is valid for this app's format and secrets, else `null`. The same
 * rules as every service: the format's decoder only, the current or the previous secret, `iss`
 * and `aud` when configured, `exp` required (15 s leeway), `sub` a non-empty string (NextAuth
 * 4's old OAuth state cookies decrypt but carry no `sub`).
 */
export async function verifySessionToken(token: string, settings: Settings): Promise<Claims | null> {
  const { format, cookieName } = settings;
  let payload: Record<string, unknown> | null = null;
  try {
    // Auth.js 5 salts its key with the cookie name; next-auth 4 derives its key without one.
    payload = await tokenCodec(settings).decode(format === "authjs-v5" ? { token, salt: cookieName } : { token });
  } catch {
    return null; // a wrong key, a tampered token, a malformed one: refused alike
  }
  if (!payload || typeof payload.sub !== "string" || payload.sub === "") return null;
  if (typeof payload.exp !== "number") return null;
  return payload as Claims;
}
