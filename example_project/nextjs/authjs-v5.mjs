// Auth.js v5 (next-auth@5 / @auth/core): auth.js
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
import { encode as encodeV5 } from "@auth/core/jwt";
import { authorizeWithDjango, callbacks, signOutAtDjango } from "./django.mjs";
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
    session: { strategy: "jwt", maxAge: 30 * 24 * 60 * 60 },
    ...(format === "jws" ? { jwt: { encode, decode } } : {}),
    providers: [
      Credentials({
        credentials: { email: { type: "email" }, password: { type: "password" } },
        authorize: authorizeWithDjango,
      }),
    ],
    callbacks,
    // Sign-out reaches Django: the session (its sid) is revoked there, in every copy. The v5
    // key is salted with the session cookie's name (__Secure- on https).
    events: {
      signOut: signOutAtDjango((token) =>
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
