// Better Auth for the example app: email and password, its session cookie cache in the strategy
// of BETTER_AUTH_COOKIE_CACHE (what Django verifies), and every deleted session (sign-out,
// revoke-sessions) posted to Django's sign-out by the shared database hook.
import { betterAuth } from "better-auth";
import { memoryAdapter, type MemoryDB } from "better-auth/adapters/memory";
import { nextCookies } from "better-auth/next-js";
// The hook the interop tests run (tests/interop/betterauth), one file for both.
import { djangoSignOut } from "../../../tests/interop/betterauth/django-signout.mjs";
import { settings } from "@/lib/settings";

// Better Auth's memory adapter (its own choice for development and tests: no native module, no
// migration). One store per server process, on globalThis: Next.js bundles the route handlers,
// the pages and instrumentation.ts separately, and each must see the same users and sessions.
// Everything is gone when `next start` stops. For a real deployment: a database adapter.
const store = globalThis as typeof globalThis & { betterAuthExampleDb?: MemoryDB };
const db = (store.betterAuthExampleDb ??= { user: [], session: [], account: [], verification: [] });

function create() {
  const { secret, baseURL, strategy, cacheMaxAge, djangoURL } = settings();
  return betterAuth({
    baseURL,
    ...(secret ? { secret } : {}),
    database: memoryAdapter(db),
    emailAndPassword: { enabled: true, autoSignIn: true },
    session: { cookieCache: { enabled: true, strategy, maxAge: cacheMaxAge } },
    databaseHooks: djangoSignOut(`${djangoURL}/api/auth/signout`),
    // Server actions set Better Auth's cookies through next/headers.
    plugins: [nextCookies()],
    telemetry: { enabled: false },
  });
}

let instance: ReturnType<typeof create> | undefined;

/** The app's Better Auth instance (made on first use, from the settings). */
export function auth(): ReturnType<typeof create> {
  instance ??= create();
  return instance;
}

/** What both `request.cookies` and `cookies()` offer. */
export interface CookieJar {
  get(name: string): { value: string } | undefined;
}

/**
 * The browser's cookie cache as Better Auth wrote it: the cookie `name`, or its chunks
 * `name.0`, `name.1`, ... joined. Sent to Django as Bearer: the same value the browser sends
 * Django itself as a cookie on this site.
 */
export function readCookieCache(jar: CookieJar, name: string): string | undefined {
  const chunks: string[] = [];
  for (let i = 0; ; i++) {
    const chunk = jar.get(`${name}.${i}`)?.value;
    if (!chunk) break;
    chunks.push(chunk);
  }
  return chunks.length > 0 ? chunks.join("") : jar.get(name)?.value || undefined;
}
