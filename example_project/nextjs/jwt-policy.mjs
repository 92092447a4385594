// Rotation, issuer and audience around any NextAuth token codec: the HS256 hooks of
// jwt-hs256.mjs (the "jws" format), next-auth 4's own encode/decode ("nextauth-v4") or Auth.js
// 5's ("authjs-v5"). The rules are every service's in the mesh:
//   - the first secret signs or encrypts; the others (NEXTAUTH_SECRET_PREVIOUS during a
//     rotation) still verify, so a rotation signs nobody out;
//   - with NEXTAUTH_ISSUER / NEXTAUTH_AUDIENCE set, minted tokens carry `iss` / `aud`, and a token
//     whose `iss` is not exactly the issuer, or whose `aud` is not (or does not list) the
//     audience, is refused: the Django services refuse it too (token_claims_invalid).
//
//   import * as jwt from "next-auth/jwt";                 // or "./jwt-hs256.mjs", "@auth/core/jwt"
//   import { policyFromEnv, withPolicy } from "./jwt-policy.mjs";
//   NextAuth({ ..., jwt: withPolicy(jwt, policyFromEnv()) })
//
// NextAuth hands `encode` and `decode` its own `secret`: they are replaced by the policy's list,
// so a previous secret never signs. Executed by django-nextauth-jwt's tests
// (tests/test_mesh_nextjs_settings.py).

/**
 * The policy the environment names: NEXTAUTH_SECRET (or AUTH_SECRET), then the previous one.
 * @returns {Policy}
 */
export function policyFromEnv(env = process.env) {
  const current = env.NEXTAUTH_SECRET || env.AUTH_SECRET || "";
  return {
    secrets: [current, env.NEXTAUTH_SECRET_PREVIOUS || ""].filter(Boolean),
    issuer: env.NEXTAUTH_ISSUER || undefined,
    audience: env.NEXTAUTH_AUDIENCE || undefined,
  };
}

/**
 * @typedef {{ secrets: string[], issuer?: string, audience?: string }} Policy
 * @typedef {{ encode: (params: any) => Promise<string>, decode: (params: any) => Promise<any> }} Codec
 */

/**
 * Whether `payload` names exactly the configured issuer and audience (when they are set).
 * @param {Record<string, unknown>} payload
 * @param {{ issuer?: string, audience?: string }} policy
 */
export function acceptsClaims(payload, { issuer, audience }) {
  if (issuer && payload.iss !== issuer) return false;
  if (!audience) return true;
  const aud = payload.aud;
  return aud === audience || (Array.isArray(aud) && aud.includes(audience));
}

/**
 * `codec`'s `encode` and `decode`, with the policy's secrets, issuer and audience.
 * @param {Codec} codec
 * @param {Policy} policy
 * @returns {Codec}
 */
export function withPolicy(codec, { secrets, issuer, audience }) {
  if (!Array.isArray(secrets) || secrets.length === 0 || !secrets.every((s) => typeof s === "string" && s)) {
    throw new Error("withPolicy: secrets must list one or more secrets, the signing one first");
  }
  return {
    async encode(params) {
      const token = { ...params.token };
      if (issuer) token.iss = issuer;
      if (audience) token.aud = audience;
      return codec.encode({ ...params, token, secret: secrets[0] });
    },
    async decode(params) {
      if (!params.token) return null;
      for (const secret of secrets) {
        let payload = null;
        try {
          payload = await codec.decode({ ...params, secret });
        } catch {
          payload = null; // another secret's token, or a bad one: the next secret, or null
        }
        if (payload) return acceptsClaims(payload, { issuer, audience }) ? payload : null;
      }
      return null;
    },
  };
}
