// The app's settings, from the environment, read at start-up (one build serves every variant).
//
//   NEXTAUTH_SECRET        the secret every service shares (AUTH_SECRET also works)
//   NEXTAUTH_SECRET_PREVIOUS  during a rotation, the old secret: it still verifies, never signs
//   NEXTAUTH_ISSUER, NEXTAUTH_AUDIENCE   when set, minted tokens carry iss / aud and tokens
//                          without them are refused, as every service does
//   NEXTAUTH_JWT_FORMAT    jws (default) | nextauth-v4 | authjs-v5: as the Django setting
//   NEXTAUTH_VERSION       4 (next-auth 4, default) | 5 (Auth.js 5); 5 is the default for authjs-v5
//   NEXTAUTH_URL           this app's origin, e.g. http://127.0.0.1:3000 (next-auth 4 needs it)
//   DJANGO_URL, EXPRESS_URL, FASTAPI_URL, GO_URL   the services (default 127.0.0.1:8000-8003)
//   DJANGO_PUBLIC_URL      Django as the browser reaches it (the protected page's live line, a
//                          WebSocket to its /ws/live/); DJANGO_URL when unset

export const FORMATS = ["jws", "nextauth-v4", "authjs-v5"] as const;
export type Format = (typeof FORMATS)[number];
export type Version = "4" | "5";
export const SERVICES = ["django", "express", "fastapi", "go"] as const;
export type Service = (typeof SERVICES)[number];

export interface Settings {
  format: Format;
  version: Version;
  /** The secret that signs (and the one NextAuth's CSRF token uses). */
  secret: string;
  /** Every secret that verifies: `secret` first, then NEXTAUTH_SECRET_PREVIOUS during a rotation. */
  secrets: string[];
  issuer?: string;
  audience?: string;
  /** The session cookie NextAuth writes and every reader looks for (chunks: `<name>.0`, ...). */
  cookieName: string;
  /** Each service's base URL and the path that answers "who am I" for a Bearer token. */
  services: Record<Service, { base: string; whoami: string }>;
  /** Django's WebSocket for the protected page's live line, as the browser opens it. */
  liveUrl: string;
}

function fail(message: string): never {
  throw new Error(`example_project/nextjs: ${message}`);
}

export function settings(): Settings {
  const env = process.env;
  const format = (env.NEXTAUTH_JWT_FORMAT || "jws") as Format;
  if (!FORMATS.includes(format)) fail(`NEXTAUTH_JWT_FORMAT must be one of ${FORMATS.join(", ")}`);
  const version = (env.NEXTAUTH_VERSION || (format === "authjs-v5" ? "5" : "4")) as Version;
  if (version !== "4" && version !== "5") fail("NEXTAUTH_VERSION must be 4 or 5");
  // Each JWE format is its library's own default: next-auth 4 cannot write Auth.js 5's, and back.
  if (format === "nextauth-v4" && version === "5") fail("nextauth-v4 tokens need NEXTAUTH_VERSION=4");
  if (format === "authjs-v5" && version === "4") fail("authjs-v5 tokens need NEXTAUTH_VERSION=5");
  const secret = env.NEXTAUTH_SECRET || env.AUTH_SECRET || "";
  if (new TextEncoder().encode(secret).length < 32) fail("NEXTAUTH_SECRET must be set, 32 bytes or more");
  const previous = env.NEXTAUTH_SECRET_PREVIOUS || "";
  if (previous && new TextEncoder().encode(previous).length < 32) {
    fail("NEXTAUTH_SECRET_PREVIOUS, when set, must be 32 bytes or more");
  }
  const issuer = env.NEXTAUTH_ISSUER || undefined;
  const audience = env.NEXTAUTH_AUDIENCE || undefined;
  for (const [name, value] of [["NEXTAUTH_ISSUER", issuer], ["NEXTAUTH_AUDIENCE", audience]]) {
    if (value !== undefined && value.trim() !== value) fail(`${name} must not start or end with spaces`);
  }
  // next-auth 4 builds its redirects from NEXTAUTH_URL; without it (or AUTH_TRUST_HOST, which
  // takes the request's Host header) it sends everyone to http://localhost:3000.
  if (version === "4" && !env.NEXTAUTH_URL && !env.AUTH_TRUST_HOST) {
    fail("next-auth 4 needs NEXTAUTH_URL, this app's origin (e.g. http://127.0.0.1:3000)");
  }
  const secure = (env.NEXTAUTH_URL || env.AUTH_URL || "").startsWith("https://");
  const cookieName = `${secure ? "__Secure-" : ""}${version === "5" ? "authjs" : "next-auth"}.session-token`;
  const base = (name: string, port: number) => (env[name] || `http://127.0.0.1:${port}`).replace(/\/+$/, "");
  const django = base("DJANGO_URL", 8000);
  const publicDjango = (env.DJANGO_PUBLIC_URL || django).replace(/\/+$/, "");
  if (!/^https?:\/\//.test(publicDjango)) fail("DJANGO_PUBLIC_URL must be an http:// or https:// URL");
  return {
    format,
    version,
    secret,
    secrets: previous ? [secret, previous] : [secret],
    issuer,
    audience,
    cookieName,
    services: {
      django: { base: django, whoami: "/api/me/" },
      express: { base: base("EXPRESS_URL", 8001), whoami: "/whoami" },
      fastapi: { base: base("FASTAPI_URL", 8002), whoami: "/whoami" },
      go: { base: base("GO_URL", 8003), whoami: "/whoami" },
    },
    liveUrl: `${publicDjango.replace(/^http/, "ws")}/ws/live/`,
  };
}
