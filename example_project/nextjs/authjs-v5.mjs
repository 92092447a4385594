// Auth.js v5's configuration for the example app (NEXTAUTH_VERSION=5): lib/auth.ts passes it to
// next-auth 5 (installed under the alias "next-auth-v5", next to next-auth 4) and adds the
// sign-out event; middleware.ts verifies the same token (lib/session-token.ts).
// In an app of your own (next-auth@5 installed as "next-auth"): auth.ts
//
//   import NextAuth from "next-auth";
//   import { authConfig } from "./authjs-v5.mjs";
//   export const { handlers, auth, signIn, signOut } = NextAuth(authConfig());
//
// NEXTAUTH_JWT_FORMAT must match the Django services' setting:
//   "jws"        -> HS256 tokens (the hooks below); also pass `decode` to getToken()
//   "authjs-v5"  -> Auth.js's default encrypted token (no hooks). The key is salted with the
//                   cookie name: set NEXTAUTH_SECURE_COOKIE on the Django side when the site is https.
//
// Executed by django-nextauth-jwt's interop tests.
import Credentials from "@auth/core/providers/credentials";
import Google from "@auth/core/providers/google";
import { encode as encodeV5 } from "@auth/core/jwt";
import { authorizeWithDjango, callbacks, sessionMaxAge, signOutEvent } from "./django.mjs";
import { encode, decode } from "./jwt-hs256.mjs";

export function authConfig({
  format = process.env.NEXTAUTH_JWT_FORMAT ?? "jws",
  secureCookie = (process.env.AUTH_URL ?? process.env.NEXTAUTH_URL ?? "").startsWith("https:"),
} = {}) {
  const secret = process.env.AUTH_SECRET ?? process.env.NEXTAUTH_SECRET;
  return {
    secret,
    trustHost: true,
    basePath: "/api/auth",
    // NEXTAUTH_MAX_AGE and NEXTAUTH_SESSION_MAX_LIFETIME (default 30 days each): the same
    // values as the Django services'; `callbacks.jwt` ends the session at the lifetime.
    session: { strategy: "jwt", maxAge: sessionMaxAge() },
    ...(format === "jws" ? { jwt: { encode, decode } } : {}),
    providers: [
      Credentials({
        credentials: { email: { type: "email" }, password: { type: "password" } },
        authorize: authorizeWithDjango,
      }),
      // Google, when its OAuth client is configured (redirect URI: <origin>/api/auth/callback/google).
      ...(process.env.GOOGLE_CLIENT_ID && process.env.GOOGLE_CLIENT_SECRET
        ? [Google({ clientId: process.env.GOOGLE_CLIENT_ID, clientSecret: process.env.GOOGLE_CLIENT_SECRET })]
        : []),
    ],
    callbacks,
    // Sign-out reaches Django: the session (its sid) is revoked there, in every copy. The v5
    // key is salted with the session cookie's name (__Secure- on https).
    events: {
      signOut: signOutEvent((token) =>
        (format === "jws" ? encode : encodeV5)({
          token,
          secret,
          salt: `${secureCookie ? "__Secure-" : ""}authjs.session-token`,
          maxAge: 60,
        }),
      ),
    },
  };
}
