// next-auth 4: pages/api/auth/[...nextauth].js
//
//   import NextAuth from "next-auth";
//   import { authOptions } from "./nextauth-v4.mjs";
//   export default NextAuth(authOptions());
//
// and wherever the token is read (API routes, middleware):
//
//   import { getToken } from "next-auth/jwt";
//   import { decode } from "./jwt-hs256.mjs";
//   const token = await getToken({ req, secret: process.env.NEXTAUTH_SECRET, decode });  // jws only
//
// NEXTAUTH_JWT_FORMAT must match the Django services' setting:
//   "jws"          -> HS256 tokens every service verifies with a stock JWT library (the hooks below)
//   "nextauth-v4"  -> next-auth 4's default encrypted token (no hooks)
//
// Executed by django-nextauth-jwt's interop tests.
import Credentials from "next-auth/providers/credentials";
import * as nextAuthJwt from "next-auth/jwt";
import { authorizeWithDjango, callbacks, signOutAtDjango } from "./django.mjs";
import { encode, decode } from "./jwt-hs256.mjs";

// next-auth 4 is CommonJS: under Next.js's bundler the default import is the
// provider; under plain Node ESM it is the module object holding it.
const CredentialsProvider = Credentials.default ?? Credentials;

export function authOptions({ format = process.env.NEXTAUTH_JWT_FORMAT ?? "jws" } = {}) {
  const secret = process.env.NEXTAUTH_SECRET;
  return {
    secret,
    session: { strategy: "jwt", maxAge: 30 * 24 * 60 * 60 },
    ...(format === "jws" ? { jwt: { encode, decode } } : {}),
    providers: [
      CredentialsProvider({
        name: "Email",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        authorize: authorizeWithDjango,
      }),
    ],
    callbacks,
    // Sign-out reaches Django: the session (its sid) is revoked there, in every copy.
    events: {
      signOut: signOutAtDjango((token) =>
        (format === "jws" ? encode : nextAuthJwt.encode)({ token, secret, maxAge: 60 }),
      ),
    },
  };
}
