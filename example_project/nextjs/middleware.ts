// Route protection by the session token alone (pure JWT): the token in the session cookie is
// verified with the shared secret, as every service behind this app verifies it. No session
// store and no call to NextAuth's own API: a page or an API call without a valid token never runs.
import { NextResponse, type NextRequest } from "next/server";
import { settings } from "@/lib/settings";
import { readSessionToken, verifySessionToken } from "@/lib/session-token";

export const config = {
  matcher: ["/protected/:path*", "/mesh/:path*"],
  // Node.js, not the edge runtime: the settings are read from the real environment at start-up.
  runtime: "nodejs",
};

export async function middleware(request: NextRequest): Promise<NextResponse> {
  const current = settings();
  const token = readSessionToken(request.cookies, current.cookieName);
  const claims = token ? await verifySessionToken(token, current) : null;
  if (claims) return NextResponse.next();
  if (request.nextUrl.pathname.startsWith("/mesh/")) {
    // The services' own answer for a missing or refused token (and the same error codes).
    const code = token ? "token_invalid" : "token_missing";
    const challenge = token ? 'Bearer realm="api", error="invalid_token"' : 'Bearer realm="api"';
    return NextResponse.json(
      { detail: token ? "Token is invalid." : "Authentication credentials were not provided.", code },
      { status: 401, headers: { "www-authenticate": challenge, "cache-control": "no-store" } },
    );
  }
  // request.url keeps the host the browser used (next.config.mjs: skipMiddlewareUrlNormalize);
  // request.nextUrl would say "localhost" for 127.0.0.1, where the browser holds no cookie.
  const signIn = new URL("/api/auth/signin", request.url);
  const { pathname, search } = new URL(request.url);
  signIn.searchParams.set("callbackUrl", `${pathname}${search}`);
  return NextResponse.redirect(signIn);
}
