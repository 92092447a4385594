// Sign-out reaches Django: a Better Auth database hook that posts every deleted session (a
// sign-out, a revoke-session, a revoke-other-sessions) to Django's POST /api/auth/signout, as a
// Bearer copy of the session's cookie cache in the configured strategy. Django verifies it with
// Better Auth's secret and revokes the session id, so every cookie of that session is refused
// there at once, without waiting for the cache to expire.
//
//   import { djangoSignOut } from "./django-signout.mjs";
//   betterAuth({ ..., databaseHooks: djangoSignOut("https://api.example.com/api/auth/signout") });
//
// The cookie is built the way Better Auth's setCookieCache builds it (better-auth/dist/cookies),
// with the package's own signJWT, symmetricEncodeJWT and HMAC.
import { filterOutputFields } from "@better-auth/core/utils/db";
import { parseUserOutput } from "better-auth/db";
import { signJWT, symmetricEncodeJWT } from "better-auth/crypto";
import { base64Url } from "@better-auth/utils/base64";
import { createHMAC } from "@better-auth/utils/hmac";

const MAX_AGE = 60; // seconds: only Django's sign-out reads it, right away

async function cookieCache(ctx, session, user) {
  const options = ctx.context.options;
  const sessionData = {
    session: filterOutputFields(session, options.session?.additionalFields),
    user: parseUserOutput(options, user),
    updatedAt: Date.now(),
    version: "1",
  };
  const strategy = options.session?.cookieCache?.strategy || "compact";
  if (strategy === "jwe") {
    return symmetricEncodeJWT(sessionData, ctx.context.secretConfig, "better-auth-session", MAX_AGE);
  }
  if (strategy === "jwt") return signJWT(sessionData, ctx.context.secret, MAX_AGE);
  const expiresAt = Date.now() + MAX_AGE * 1000;
  const signature = await createHMAC("SHA-256", "base64urlnopad").sign(
    ctx.context.secret,
    JSON.stringify({ ...sessionData, expiresAt }),
  );
  return base64Url.encode(JSON.stringify({ session: sessionData, expiresAt, signature }), {
    padding: false,
  });
}

export function djangoSignOut(url) {
  return {
    session: {
      delete: {
        async after(session, ctx) {
          if (!ctx?.context) return; // deleted outside a request: nothing to sign with
          const user = await ctx.context.internalAdapter.findUserById(session.userId);
          if (!user) return;
          const token = await cookieCache(ctx, session, user);
          try {
            const response = await fetch(url, {
              method: "POST",
              headers: { Authorization: `Bearer ${token}` },
              signal: AbortSignal.timeout(5000),
            });
            if (!response.ok) ctx.context.logger.error(`Django sign-out answered ${response.status}`);
          } catch (error) {
            ctx.context.logger.error(`Django sign-out failed: ${error?.name}`);
          }
        },
      },
    },
  };
}
