// The Next.js app's link to the Django service, shared by next-auth 4 (nextauth-v4.mjs) and
// Auth.js 5 (authjs-v5.mjs):
// - sign-in: NextAuth's Credentials provider calls POST /api/auth/custom-login server to server
//   (no cookies, no Origin: Django's sign-in CSRF policy lets it through) and gets the user back;
// - sign-out: NextAuth's sign-out deletes the browser's cookie and nothing else, so the token is
//   POSTed as Bearer to Django's /api/auth/signout, which puts it on its deny-list.
//
// Executed by django-nextauth-jwt's interop tests and by the example app (lib/auth.ts).
import { createHmac, randomUUID } from "node:crypto";
import { isIP } from "node:net";

const DJANGO_URL = () => process.env.DJANGO_URL ?? "http://127.0.0.1:8000";
const SECRET = () => process.env.AUTH_SECRET ?? process.env.NEXTAUTH_SECRET;

/** The most characters of the session note a user can keep in the token (see `callbacks`). */
export const MAX_NOTE_LENGTH = 6000;

const THIRTY_DAYS = 30 * 24 * 60 * 60;

function seconds(name) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return THIRTY_DAYS;
  const value = Number(raw);
  // Fail loudly, as Django's checks do: a typo must not become "no limit" or "sign out now".
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive whole number of seconds`);
  }
  return value;
}

/**
 * NEXTAUTH_MAX_AGE: how long a session token lives after its last refresh (NextAuth's
 * `session.maxAge`; Django's setting of the same name). Every read of the session slides it.
 */
export const sessionMaxAge = () => seconds("NEXTAUTH_MAX_AGE");

/**
 * NEXTAUTH_SESSION_MAX_LIFETIME: how long a session lasts from sign-in (`auth_time`), however
 * often it is refreshed. Django's setting of the same name: give both sides one value, and the
 * browser is signed out here at the moment Django starts refusing the session.
 */
export const sessionMaxLifetime = () => seconds("NEXTAUTH_SESSION_MAX_LIFETIME");

// The browser's address, signed with the shared secret: Django counts sign-in attempts per
// browser, not per Next.js server (which would let anyone's failures lock everyone out). Only
// a holder of the secret can sign it, so a browser calling Django directly cannot choose it;
// and only what the browser cannot write is signed. `next start` keeps an X-Forwarded-For the
// browser sent (it fills it from the socket only when absent), so that header is never read
// on its own:
//   NEXTAUTH_CLIENT_ADDRESS_HEADER  the header your edge or platform sets to the browser's
//     address, replacing whatever the browser sent: x-real-ip (nginx:
//     `proxy_set_header X-Real-IP $remote_addr;`), cf-connecting-ip (Cloudflare),
//     fly-client-ip (Fly.io), x-nextauth-socket-address (a custom server: docs/deployment.md), ...
//     x-forwarded-for only with NEXTAUTH_TRUSTED_PROXY_COUNT = the proxies in front of this
//     server that append to it: the entry the outermost one wrote.
//   unset: the address cannot be known. Then the helper signs "unknown" (and says so at
//     start-up): Django counts every such sign-in in one bucket sized for the whole site
//     (NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT) beside its per-account limits, so no one's failures
//     lock out anyone else's account, and no forged header buys a fresh budget.
// docs/deployment.md says which to name for each way of running Next.js.

/** What the Next.js server asserts when it cannot know the browser's address. */
export const UNKNOWN_CLIENT = "unknown";

/**
 * Where the browser's address comes from: `{ header, hops }` (`header` null: nowhere). Throws
 * for a setting that cannot work (a header name with spaces, x-forwarded-for without a count).
 */
export function clientAddressSource(env = process.env) {
  const header = String(env.NEXTAUTH_CLIENT_ADDRESS_HEADER ?? "").trim().toLowerCase();
  if (!header) return { header: null, hops: 0 };
  if (!/^[a-z0-9-]+$/.test(header)) {
    throw new Error("NEXTAUTH_CLIENT_ADDRESS_HEADER must be a header name, e.g. x-real-ip");
  }
  if (header !== "x-forwarded-for") return { header, hops: 0 };
  const hops = Number(env.NEXTAUTH_TRUSTED_PROXY_COUNT ?? "");
  if (!Number.isSafeInteger(hops) || hops < 1) {
    throw new Error(
      "NEXTAUTH_CLIENT_ADDRESS_HEADER=x-forwarded-for needs NEXTAUTH_TRUSTED_PROXY_COUNT: how many " +
        "proxies in front of this server append to it (1 or more); the browser writes the rest",
    );
  }
  return { header, hops };
}

/** The start-up line: where the address comes from, or that it cannot be known and what then. */
export function describeClientAddress(env = process.env) {
  const { header, hops } = clientAddressSource(env);
  if (header === null) {
    return (
      "django-nextauth-jwt: NEXTAUTH_CLIENT_ADDRESS_HEADER is not set, so this server cannot know " +
      "a browser's address (X-Forwarded-For is the browser's to write): sign-ins reach Django as " +
      `"${UNKNOWN_CLIENT}" and share one budget (NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT) beside the ` +
      "per-account limits. Name the header your proxy or platform sets (docs/deployment.md)."
    );
  }
  const entry = hops ? ` (the entry ${hops} from the right)` : "";
  return `django-nextauth-jwt: the browser's address comes from ${header}${entry}.`;
}

export function clientAddressHeader(request, secret = SECRET(), env = process.env) {
  if (!secret) return {};
  const headers = request?.headers;
  const get = (name) => (typeof headers?.get === "function" ? headers.get(name) : headers?.[name]);
  const { header, hops } = clientAddressSource(env);
  let address = UNKNOWN_CLIENT;
  if (header !== null) {
    const raw = get(header);
    const value = String(Array.isArray(raw) ? raw.join(",") : (raw ?? ""));
    const entries = value.split(",").map((a) => a.trim()).filter(Boolean);
    // One address from the edge; with a count, the one the outermost trusted proxy wrote.
    const chosen = hops ? entries[entries.length - hops] : entries.length === 1 ? entries[0] : undefined;
    if (chosen && isIP(chosen)) address = chosen;
  }
  const stamp = Math.floor(Date.now() / 1000);
  const signature = createHmac("sha256", secret)
    .update(`nextauth-client-address:v1|${address}|${stamp}`)
    .digest("hex");
  return { "x-nextauth-client-address": `${address};${stamp};${signature}` };
}

export async function authorizeWithDjango(credentials, request) {
  const email = credentials?.email;
  const password = credentials?.password;
  if (typeof email !== "string" || typeof password !== "string") return null;
  const response = await fetch(`${DJANGO_URL()}/api/auth/custom-login`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/json",
      ...clientAddressHeader(request),
    },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) return null; // 401 invalid_credentials, 429 throttled, ...
  const { user, sid } = await response.json();
  // NextAuth puts `id` in the token's `sub`: the same id Django mints with; `sid` names the session.
  return { id: user.id, email: user.email, name: user.name, image: user.image, role: user.role, sid };
}

// events.signOut: tell Django, so that every copy of the session is refused there too. NextAuth
// hands over the decoded token; `encodeToken` re-encodes it (same sid) for a Bearer sign-out.
export function signOutEvent(encodeToken) {
  return async ({ token }) => {
    if (!token?.sub) return;
    await signOutAtDjango(await encodeToken(token));
  };
}

/**
 * Revoke `token` (the encoded session token, as the browser held it) at Django. Failures are
 * logged without the token and do not stop the NextAuth sign-out: the cookie goes either way.
 */
export async function signOutAtDjango(token) {
  if (!token) return false;
  try {
    const response = await fetch(`${DJANGO_URL()}/api/auth/signout`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
    });
    if (!response.ok) console.error(`Django sign-out refused: HTTP ${response.status}`);
    return response.ok;
  } catch (error) {
    console.error(`Django sign-out failed: ${error?.name ?? "error"}`);
    return false;
  }
}

// The callbacks that carry `role` (and the Django id) from sign-in into the token
// and from the token into the session, in both NextAuth 4 and Auth.js 5.
export const callbacks = {
  async jwt({ token, user, trigger, session }) {
    if (user) {
      token.sub = String(user.id);
      if (user.role) token.role = user.role;
      // One session, one sid (Django's, from custom-login), and when it was signed into:
      // NextAuth keeps both across refreshes, so Django's sign-out and sign-out-everywhere
      // reach every copy it re-encodes.
      token.sid = typeof user.sid === "string" && user.sid ? user.sid : randomUUID();
      token.auth_time = Math.floor(Date.now() / 1000);
    }
    token.sid ??= randomUUID(); // sessions from before this callback
    token.auth_time ??= token.iat ?? Math.floor(Date.now() / 1000);
    // The absolute lifetime: a refresh slides `exp`, never `auth_time`. Past it the session
    // ends (Auth.js 5 clears the cookie on null; next-auth 4 through `session` below), so a
    // cookie someone keeps refreshing stops where Django stops accepting it.
    if (Math.floor(Date.now() / 1000) >= token.auth_time + sessionMaxLifetime()) return null;
    // `update({ note })` (next-auth/react, or a POST to /api/auth/session) lands here with
    // whatever the browser sent: take the one field a user may change, never `sub` or `role`.
    // A long note makes the token outgrow one cookie: NextAuth then splits it into chunks.
    if (trigger === "update" && typeof session?.note === "string") {
      token.note = session.note.slice(0, MAX_NOTE_LENGTH);
    }
    return token;
  },
  async session({ session, token }) {
    // next-auth 4 calls this even after `jwt` ended the session: throwing is its way to clear
    // the cookie (logged as JWT_SESSION_ERROR). Auth.js 5 never gets here without a token.
    if (!token) throw new Error("the session passed NEXTAUTH_SESSION_MAX_LIFETIME");
    if (session.user) {
      session.user.id = token.sub;
      session.user.role = token.role ?? null;
    }
    session.note = typeof token.note === "string" ? token.note : "";
    return session;
  },
};
