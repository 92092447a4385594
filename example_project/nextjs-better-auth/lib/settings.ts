// The app's settings, from the environment, read at start-up (one build serves every strategy).
//
//   BETTER_AUTH_SECRET        Better Auth's secret, 32 bytes or more; Django reads the same one
//                             (BETTER_AUTH_SECRETS, "2:new,1:old", is read by Better Auth itself)
//   BETTER_AUTH_URL           this app's origin, e.g. http://127.0.0.1:3000
//   BETTER_AUTH_COOKIE_CACHE  the session cookie cache's strategy: compact (default) | jwt | jwe;
//                             Django's NEXTAUTH_BETTER_AUTH_STRATEGY must be the same
//   BETTER_AUTH_COOKIE_CACHE_MAX_AGE  seconds a cookie cache lives before Better Auth re-issues
//                             it from its database (300)
//   DJANGO_URL                the Django service (default http://127.0.0.1:8000)

export const STRATEGIES = ["compact", "jwt", "jwe"] as const;
export type Strategy = (typeof STRATEGIES)[number];

export interface Settings {
  /** BETTER_AUTH_SECRET ("" when only BETTER_AUTH_SECRETS is set: Better Auth reads that). */
  secret: string;
  baseURL: string;
  strategy: Strategy;
  cacheMaxAge: number;
  djangoURL: string;
  /** The cookie cache Better Auth writes and Django reads (chunks: `<name>.0`, ...). */
  cacheCookie: string;
}

function fail(message: string): never {
  throw new Error(`example_project/nextjs-better-auth: ${message}`);
}

export function settings(): Settings {
  const env = process.env;
  // With BETTER_AUTH_SECRETS Better Auth signs with its first (current) version itself.
  const secret = env.BETTER_AUTH_SECRET || "";
  if (!env.BETTER_AUTH_SECRETS && new TextEncoder().encode(secret).length < 32) {
    fail("BETTER_AUTH_SECRET must be set, 32 bytes or more");
  }
  const baseURL = (env.BETTER_AUTH_URL || "").replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]+$/.test(baseURL)) fail("BETTER_AUTH_URL must be this app's origin (e.g. http://127.0.0.1:3000)");
  const strategy = (env.BETTER_AUTH_COOKIE_CACHE || "compact") as Strategy;
  if (!STRATEGIES.includes(strategy)) fail(`BETTER_AUTH_COOKIE_CACHE must be one of ${STRATEGIES.join(", ")}`);
  const cacheMaxAge = Number(env.BETTER_AUTH_COOKIE_CACHE_MAX_AGE || 300);
  if (!Number.isSafeInteger(cacheMaxAge) || cacheMaxAge <= 0) {
    fail("BETTER_AUTH_COOKIE_CACHE_MAX_AGE must be a positive whole number of seconds");
  }
  // Better Auth names its cookies __Secure-better-auth.* on an https origin.
  const secure = baseURL.startsWith("https://");
  return {
    secret,
    baseURL,
    strategy,
    cacheMaxAge,
    djangoURL: (env.DJANGO_URL || "http://127.0.0.1:8000").replace(/\/+$/, ""),
    cacheCookie: `${secure ? "__Secure-" : ""}better-auth.session_data`,
  };
}
