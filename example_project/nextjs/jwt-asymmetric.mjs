// NextAuth `jwt.encode` / `jwt.decode` hooks for the "jws-asymmetric" format: the Next.js app signs
// the session token with its own private key (jose's SignJWT, with a `kid`), and every service,
// NextAuth itself included, verifies it with public keys from a JWKS. No service needs a secret
// that could mint a session.
//
//   // pages/api/auth/[...nextauth].js (next-auth 4) or auth.ts (Auth.js v5)
//   import { asymmetricJwt } from "./jwt-asymmetric.mjs";
//   const jwt = asymmetricJwt({
//     privateJwk: JSON.parse(process.env.NEXTAUTH_SIGNING_JWK),  // an Ed25519, P-256 or RSA private JWK
//     jwksUrl: process.env.NEXTAUTH_JWKS_URL,                     // the JWKS that verifies (yours, or Django's)
//   });
//   NextAuth({ ...options, jwt });                 // and getToken({ req, secret, decode: jwt.decode })
//
//   // app/.well-known/jwks.json/route.js: publish the public half for Django and the others
//   import { jwksDocument } from "./jwt-asymmetric.mjs";
//   export async function GET() {
//     return Response.json(await jwksDocument([JSON.parse(process.env.NEXTAUTH_SIGNING_JWK)]));
//   }
//
// Django verifies with NEXTAUTH_ACCEPTED_FORMATS including "jws-asymmetric" and NEXTAUTH_JWKS_URL
// pointing at that route. The algorithm is the key's (Ed25519: EdDSA, P-256: ES256, RSA: RS256),
// never the token's. This file is executed by django-nextauth-jwt's interop tests.
import {
  SignJWT,
  calculateJwkThumbprint,
  createLocalJWKSet,
  createRemoteJWKSet,
  importJWK,
  jwtVerify,
} from "jose";

const LEEWAY_SECONDS = 15;
const ALGORITHMS = ["EdDSA", "ES256", "RS256"];
const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** The one algorithm a JWK's key type gives. */
export function algorithmOf(jwk) {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  if (jwk.kty === "RSA") return "RS256";
  throw new TypeError("use an Ed25519, P-256 or RSA key");
}

/** The public JWK of a private one: private members dropped, kid = its RFC 7638 thumbprint. */
export async function publicJwk(privateJwk) {
  const pub = Object.fromEntries(Object.entries(privateJwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k)));
  const kid = privateJwk.kid ?? (await calculateJwkThumbprint(pub, "sha256"));
  return { ...pub, kid, alg: algorithmOf(privateJwk), use: "sig" };
}

/** The JWK Set publishing the public halves of `privateJwks`. */
export async function jwksDocument(privateJwks) {
  return { keys: await Promise.all(privateJwks.map(publicJwk)) };
}

export function asymmetricJwt({ privateJwk, jwks, jwksUrl, issuer, audience } = {}) {
  const keySet = jwksUrl ? createRemoteJWKSet(new URL(jwksUrl)) : jwks ? createLocalJWKSet(jwks) : undefined;
  let signing;
  const signingKey = async () => {
    if (!signing) {
      const { kid } = await publicJwk(privateJwk);
      const alg = algorithmOf(privateJwk);
      signing = { key: await importJWK(privateJwk, alg), kid, alg };
    }
    return signing;
  };
  return {
    async encode({ token, maxAge = 30 * 24 * 60 * 60 }) {
      const { key, kid, alg } = await signingKey();
      const now = Math.floor(Date.now() / 1000);
      const jwt = new SignJWT({ ...token })
        .setProtectedHeader({ alg, typ: "JWT", kid })
        .setIssuedAt(now)
        .setExpirationTime(now + maxAge)
        .setJti(crypto.randomUUID());
      if (issuer) jwt.setIssuer(issuer);
      if (audience) jwt.setAudience(audience);
      return jwt.sign(key);
    },
    async decode({ token }) {
      if (!token || !keySet) return null;
      try {
        const { payload } = await jwtVerify(token, keySet, {
          algorithms: ALGORITHMS, // and jose matches each to its key type
          requiredClaims: ["exp", "sub"],
          clockTolerance: LEEWAY_SECONDS,
          issuer: issuer || undefined,
          audience: audience || undefined,
        });
        return payload;
      } catch {
        return null;
      }
    },
  };
}
