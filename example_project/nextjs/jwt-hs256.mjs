// NextAuth `jwt.encode` / `jwt.decode` hooks that issue and read HS256 JWS tokens
// (the "jws" format), so that Express, FastAPI, Go and Django verify NextAuth's
// session token with a stock JWT library and the same secret.
//
// next-auth 4:  NextAuth({ jwt: { encode, decode }, ... })  and  getToken({ req, secret, decode })
// Auth.js v5:   NextAuth({ jwt: { encode, decode }, ... })  and  getToken({ req, secret, decode })
// Use the same hooks everywhere NextAuth decodes (route handler, middleware, getToken):
// a place left on the default decoder returns null for these tokens.
//
// This file is executed by django-nextauth-jwt's interop tests: it is tested, not illustrative.
import { SignJWT, jwtVerify, errors } from "jose";

const ALG = "HS256";
const LEEWAY_SECONDS = 15;
const keyOf = (secret) => new TextEncoder().encode(secret);
const secretsOf = (secret) => (Array.isArray(secret) ? secret : [secret]);

export async function encode({ token, secret, maxAge = 30 * 24 * 60 * 60 }) {
  const now = Math.floor(Date.now() / 1000);
  // The first secret signs; the others only verify (rotation).
  return new SignJWT({ ...token })
    .setProtectedHeader({ alg: ALG, typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + maxAge)
    .setJti(crypto.randomUUID())
    .sign(keyOf(secretsOf(secret)[0]));
}

export async function decode({ token, secret }) {
  if (!token) return null;
  for (const candidate of secretsOf(secret)) {
    try {
      const { payload } = await jwtVerify(token, keyOf(candidate), {
        algorithms: [ALG],
        requiredClaims: ["exp", "sub"],
        clockTolerance: LEEWAY_SECONDS,
      });
      return payload;
    } catch (error) {
      // Only a signature mismatch is worth trying the next secret for.
      if (!(error instanceof errors.JWSSignatureVerificationFailed)) return null;
    }
  }
  return null;
}
