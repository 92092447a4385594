// The session token itself, as the browser holds it, and its verification: the pure-JWT check
// middleware.ts runs on every protected request (no session store, no call to NextAuth's API).
import { decode as decodeV4 } from "next-auth/jwt";
import { decode as decodeV5 } from "next-auth-v5/jwt";
import { decode as decodeJws } from "@/jwt-hs256.mjs";
import type { Settings } from "@/lib/settings";

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
 * The token's claims if it is valid for this app's format and secret, else `null`. The same
 * rules as every service: the format's decoder only, `exp` required (15 s leeway), `sub` a
 * non-empty string (NextAuth 4's old OAuth state cookies decrypt but carry no `sub`).
 */
export async function verifySessionToken(token: string, settings: Settings): Promise<Claims | null> {
  const { format, secret, cookieName } = settings;
  let payload: Record<string, unknown> | null = null;
  try {
    if (format === "jws") payload = await decodeJws({ token, secret });
    else if (format === "nextauth-v4") payload = await decodeV4({ token, secret });
    else payload = await decodeV5({ token, secret, salt: cookieName });
  } catch {
    return null; // a wrong key, a tampered token, a malformed one: refused alike
  }
  if (!payload || typeof payload.sub !== "string" || payload.sub === "") return null;
  if (typeof payload.exp !== "number") return null;
  return payload as Claims;
}
