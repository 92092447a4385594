// NextAuth for the example app: next-auth 4 or Auth.js 5 (NEXTAUTH_VERSION), one token format
// (NEXTAUTH_JWT_FORMAT), the same secret as every service. The options themselves are the
// files at the top of this folder (nextauth-v4.mjs, authjs-v5.mjs, django.mjs, jwt-hs256.mjs),
// which the Python test suite also runs through NextAuth's handlers.
import { cookies } from "next/headers";
import type { NextRequest } from "next/server";
import NextAuthV4, { getServerSession, type AuthOptions } from "next-auth";
import NextAuthV5, { type NextAuthConfig, type NextAuthResult } from "next-auth-v5";
import { authConfig } from "@/authjs-v5.mjs";
import { signOutAtDjango } from "@/django.mjs";
import { authOptions } from "@/nextauth-v4.mjs";
import { settings } from "@/lib/settings";
import { readSessionToken, tokenCodec } from "@/lib/session-token";

/** The signed-in user as every page sees it, from either library's session. */
export interface SessionView {
  user: { id: string; name: string | null; email: string | null; role: string | null };
  note: string;
}

// A NextAuth sign-out deletes the browser's cookie and nothing else. The event runs inside the
// sign-out request, whose cookies still hold the encoded token: hand it to Django to revoke.
async function signOutEverywhere(): Promise<void> {
  await signOutAtDjango(readSessionToken(await cookies(), settings().cookieName));
}

// The token codec comes from the settings (tokenCodec): rotation, issuer and audience as every
// service applies them, whichever of the files above built the rest of the options.
function v4Options(): AuthOptions {
  const current = settings();
  const { format, secret } = current;
  return {
    ...authOptions({ format }),
    secret,
    jwt: tokenCodec(current),
    events: { signOut: signOutEverywhere },
  } as AuthOptions;
}

let authjs: NextAuthResult | undefined;
function v5(): NextAuthResult {
  const current = settings();
  const { format, secret } = current;
  authjs ??= NextAuthV5({
    ...authConfig({ format }),
    secret,
    jwt: tokenCodec(current),
    events: { signOut: signOutEverywhere },
  } as NextAuthConfig);
  return authjs;
}

type RouteContext = { params: Promise<{ nextauth: string[] }> };

/** The handler of /api/auth/* (sign-in page, callbacks, session, csrf, sign-out). */
export async function authRoute(request: NextRequest, context: RouteContext): Promise<Response> {
  if (settings().version === "5") {
    const { GET, POST } = v5().handlers;
    return request.method === "POST" ? POST(request) : GET(request);
  }
  return NextAuthV4(v4Options())(request, context);
}

/** The session of the request being rendered, or `null` when signed out. */
export async function getSession(): Promise<SessionView | null> {
  const session = (settings().version === "5" ? await v5().auth() : await getServerSession(v4Options())) as
    | (Partial<SessionView> & { user?: Partial<SessionView["user"]> })
    | null;
  if (!session?.user?.id) return null;
  const { id, name = null, email = null, role = null } = session.user;
  return { user: { id, name, email, role }, note: session.note ?? "" };
}

/** The encoded session token of the request being rendered (for a Bearer header). */
export async function sessionToken(): Promise<string | undefined> {
  return readSessionToken(await cookies(), settings().cookieName);
}
