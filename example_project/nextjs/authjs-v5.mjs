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
import { authorizeWithDjango, callbacks } from "./django.mjs";
import { encode, decode } from "./jwt-hs256.mjs";

export function authConfig({ format = process.env.NEXTAUTH_JWT_FORMAT ?? "jws" } = {}) {
  return {
    secret: process.env.AUTH_SECRET ?? process.env.NEXTAUTH_SECRET,
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
  };
}
