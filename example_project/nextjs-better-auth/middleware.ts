// The cookie cache kept fresh for the pages that send it to Django. Better Auth re-issues
// `better-auth.session_data` from its database once it has expired (the browser drops it after
// BETTER_AUTH_COOKIE_CACHE_MAX_AGE), but only where a response can set cookies, and a page
// rendered on the server cannot. So each protected request asks Better Auth for the session here
// first: a re-issued cache goes to the browser and to this request's page, which forwards it to
// Django; without a session the browser goes home.
import { NextResponse, type NextRequest } from "next/server";
import { auth } from "@/lib/auth";

export const config = {
  matcher: ["/protected/:path*"],
  // Node.js, not the edge runtime: the same Better Auth instance and store as the pages.
  runtime: "nodejs",
};

export async function middleware(request: NextRequest): Promise<NextResponse> {
  const answer = await auth().api.getSession({ headers: request.headers, asResponse: true });
  const issued = answer.headers.getSetCookie();
  const session: unknown = await answer.json();
  // request.url keeps the host the browser used (next.config.mjs: skipMiddlewareUrlNormalize).
  let response = NextResponse.redirect(new URL("/", request.url));
  if (session) {
    for (const header of issued) {
      const [pair = ""] = header.split(";");
      const at = pair.indexOf("=");
      const name = pair.slice(0, at).trim();
      // Max-Age=0 deletes the cookie; anything else is its new value for the page.
      if (/;\s*max-age=0\s*(;|$)/i.test(header)) request.cookies.delete(name);
      else request.cookies.set(name, decodeURIComponent(pair.slice(at + 1).trim()));
    }
    response = NextResponse.next({ request: { headers: request.headers } });
  }
  for (const header of issued) response.headers.append("set-cookie", header);
  return response;
}
