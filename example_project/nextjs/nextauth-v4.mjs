// next-auth 4's options for the example app (NEXTAUTH_VERSION=4, the default): lib/auth.ts
// serves them from app/api/auth/[...nextauth]/route.ts, adds the sign-out event, and reads the
// session with getServerSession(); middleware.ts verifies the same token (lib/session-token.ts).
// In an app of your own:
//
//   // app/api/auth/[...nextauth]/route.ts
//   import NextAuth from "next-auth";
//   import { authOptions } from "@/nextauth-v4.mjs";
//   const handler = NextAuth(authOptions());
//   export { handler as GET, handler as POST };
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
import Google from "next-auth/providers/google";
import * as nextAuthJwt from "next-auth/jwt";
import { authorizeWithDjango, callbacks, sessionMaxAge, signOutEvent } from "./django.mjs";
import { encode, decode } from "./jwt-hs256.mjs";

// next-auth 4 is CommonJS: under Next.js's bundler the default import is the
// provider; under plain Node ESM it is the module object holding it.
const CredentialsProvider = Credentials.default ?? Credentials;
const GoogleProvider = Google.default ?? Google;

export function authOptions({ format = process.env.NEXTAUTH_JWT_FORMAT ?? "jws" } = {}) {
  const secret = process.env.NEXTAUTH_SECRET;
  return {
    secret,
    // NEXTAUTH_MAX_AGE and NEXTAUTH_SESSION_MAX_LIFETIME (default 30 days each): the same
    // values as the Django services'; `callbacks.jwt` ends the session at the lifetime.
    session: { strategy: "jwt", maxAge: sessionMaxAge() },
    // next-auth 4 encodes the token of a sign-in with jwt.maxAge (30 days unless set) and only
    // its refreshes with session.maxAge: the same value for both.
    jwt: { maxAge: sessionMaxAge(), ...(format === "jws" ? { encode, decode } : {}) },
    providers: [
      CredentialsProvider({
        name: "Email",
        credentials: { email: { label: "Email", type: "email" }, password: { label: "Password", type: "password" } },
        authorize: authorizeWithDjango,
      }),
      // Google, when its OAuth client is configured (redirect URI: <NEXTAUTH_URL>/api/auth/callback/google).
      ...(process.env.GOOGLE_CLIENT_ID && process.env.GOOGLE_CLIENT_SECRET
        ? [GoogleProvider({ clientId: process.env.GOOGLE_CLIENT_ID, clientSecret: process.env.GOOGLE_CLIENT_SECRET })]
        : []),
    ],
    callbacks,
    // Sign-out reaches Django: the session (its sid) is revoked there, in every copy.
    events: {
      signOut: signOutEvent((token) =>
        (format === "jws" ? encode : nextAuthJwt.encode)({ token, secret, maxAge: 60 }),
      ),
    },
  };
}
