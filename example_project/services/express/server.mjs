// An Express service in the NextAuth mesh: GET /whoami for any holder of a valid session token.
//
// The token is the one NextAuth (with HS256 jwt hooks) or the Django service issues; every
// service verifies it with the same shared secret and the same rules:
//   HS256 only, exp required, sub a non-empty string, 15 s clock tolerance,
//   iss / aud exactly as configured (when NEXTAUTH_ISSUER / NEXTAUTH_AUDIENCE are set),
//   NEXTAUTH_SECRET signs, NEXTAUTH_SECRET_PREVIOUS still verifies during a rotation.
//
// Or, with NEXTAUTH_JWKS_URL instead of a secret (the mesh's asymmetric mode): tokens signed by the
// issuer's private key (EdDSA, ES256 or RS256, each pinned by its key's type), verified with the
// public keys of its JWKS, which jose caches and refetches on an unknown kid (30 s cooldown).
// This service then holds nothing that could mint a token.
//
// Run: NEXTAUTH_SECRET=... PORT=8001 node server.mjs
//      NEXTAUTH_JWKS_URL=http://127.0.0.1:8000/.well-known/jwks.json PORT=8001 node server.mjs
import express from "express";
import { createRemoteJWKSet, errors, jwtVerify } from "jose";

const jwksUrl = process.env.NEXTAUTH_JWKS_URL || "";
if (jwksUrl && (process.env.NEXTAUTH_SECRET || process.env.NEXTAUTH_SECRET_PREVIOUS)) {
  console.error("Set NEXTAUTH_SECRET or NEXTAUTH_JWKS_URL, not both");
  process.exit(1);
}
const secrets = jwksUrl
  ? [createRemoteJWKSet(new URL(jwksUrl), { timeoutDuration: 5000, cooldownDuration: 30000 })]
  : [process.env.NEXTAUTH_SECRET, process.env.NEXTAUTH_SECRET_PREVIOUS]
      .filter(Boolean)
      .map((secret) => new TextEncoder().encode(secret));
if (!jwksUrl && (!process.env.NEXTAUTH_SECRET || secrets.some((key) => key.length < 32))) {
  console.error("NEXTAUTH_SECRET (and NEXTAUTH_SECRET_PREVIOUS, if set): at least 32 bytes");
  process.exit(1);
}

const options = {
  // Pinned: never "none", never what the token's header asks for (jose also matches each
  // asymmetric algorithm to its key's type).
  algorithms: jwksUrl ? ["EdDSA", "ES256", "RS256"] : ["HS256"],
  requiredClaims: ["exp", "sub"],
  clockTolerance: 15,
  issuer: process.env.NEXTAUTH_ISSUER || undefined,
  audience: process.env.NEXTAUTH_AUDIENCE || undefined,
};

class Unauthorized extends Error {
  constructor(code, detail) {
    super(detail);
    this.code = code;
  }
}

/** The error codes the Django service uses, for jose's errors. */
function refusal(error) {
  if (error instanceof errors.JWTExpired) {
    return new Unauthorized("token_expired", "Token has expired.");
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if ((error.claim === "nbf" || error.claim === "iat") && error.reason === "check_failed") {
      return new Unauthorized("token_not_yet_valid", "Token is not valid yet.");
    }
    return new Unauthorized("token_claims_invalid", "Token claims are invalid.");
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return new Unauthorized("token_unsupported", "Token algorithm is not accepted.");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed || error instanceof errors.JWKSNoMatchingKey) {
    return new Unauthorized("token_invalid", "Token signature is invalid.");
  }
  // The JWKS could not be fetched (a timeout, a refused connection, a document jose refuses).
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || !(error instanceof errors.JOSEError)) {
    return new Unauthorized("keys_unavailable", "Token verification keys are unavailable.");
  }
  return new Unauthorized("token_malformed", "Token is malformed.");
}

/**
 * A compact JWE (five parts, a JSON header): NextAuth's encrypted default (next-auth 4, Auth.js 5),
 * which this service does not read. Django answers `token_unsupported` for a format it does not
 * accept; so does this service, instead of calling a well-formed token malformed.
 */
function isJwe(token) {
  const parts = token.split(".");
  if (parts.length !== 5 || [0, 2, 3, 4].some((i) => parts[i] === "")) return false;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    return header !== null && typeof header === "object" && !Array.isArray(header);
  } catch {
    return false;
  }
}

async function verify(token) {
  if (isJwe(token)) {
    throw new Unauthorized("token_unsupported", "Token format is not accepted: this service reads JWS, not JWE.");
  }
  for (const [index, key] of secrets.entries()) {
    try {
      const { payload } = await jwtVerify(token, key, options);
      if (typeof payload.sub !== "string" || payload.sub === "") {
        throw new Unauthorized("token_claims_invalid", "Token claims are invalid.");
      }
      // jose checks nbf but not an iat in the future; the other services refuse it.
      if (payload.iat > Date.now() / 1000 + options.clockTolerance) {
        throw new Unauthorized("token_not_yet_valid", "Token is not valid yet.");
      }
      return payload;
    } catch (error) {
      if (error instanceof Unauthorized) throw error;
      // Only a wrong signature means "try the previous secret"; anything else is final.
      const another = error instanceof errors.JWSSignatureVerificationFailed && index < secrets.length - 1;
      if (!another) throw refusal(error);
    }
  }
}

/** Middleware: `Authorization: Bearer <token>` verified, claims in `req.auth`, or a 401. */
export async function requireToken(req, res, next) {
  try {
    const [scheme, token, ...rest] = (req.get("authorization") ?? "").split(/\s+/);
    if (scheme.toLowerCase() !== "bearer") {
      throw new Unauthorized("token_missing", "Authentication credentials were not provided.");
    }
    if (!token || rest.length > 0) throw new Unauthorized("token_malformed", "Token is malformed.");
    req.auth = await verify(token);
    next();
  } catch (error) {
    if (!(error instanceof Unauthorized)) return next(error);
    const challenge =
      error.code === "token_missing" ? 'Bearer realm="api"' : 'Bearer realm="api", error="invalid_token"';
    res.status(401).set("WWW-Authenticate", challenge).set("Cache-Control", "no-store");
    res.json({ detail: error.message, code: error.code });
  }
}

const app = express();
app.disable("x-powered-by");

app.get("/healthz", (req, res) => res.json({ ok: true }));

app.get("/whoami", requireToken, (req, res) => {
  const { sub, email = null, role = null } = req.auth;
  res.json({ service: "express", sub, email, role });
});

const port = Number(process.env.PORT ?? 8001);
const host = process.env.HOST ?? "127.0.0.1";
app.listen(port, host, (error) => {
  if (error) throw error;
  console.log(`express whoami on http://${host}:${port}/whoami`);
});
