// The example's Next.js front end with Better Auth. One build serves every strategy: the
// settings (lib/settings.ts) are read at start-up.
import { fileURLToPath } from "node:url";

const modules = fileURLToPath(new URL("./node_modules", import.meta.url));

/** @type {import("next").NextConfig} */
const nextConfig = {
  // Keep the host as the browser sent it (127.0.0.1, not "localhost"): Better Auth checks the
  // Origin of its requests against BETTER_AUTH_URL, and cookies are per host name.
  skipMiddlewareUrlNormalize: true,
  poweredByHeader: false,
  reactStrictMode: true,
  // No ESLint in this example's dependencies; `next build` still type-checks (TypeScript strict).
  eslint: { ignoreDuringBuilds: true },
  // The sign-out hook is shared with the interop tests (tests/interop/betterauth/django-signout.mjs):
  // its imports resolve to this app's better-auth, never to another folder's copy.
  experimental: { externalDir: true },
  webpack(config) {
    config.resolve.modules = [modules, ...(config.resolve.modules ?? ["node_modules"])];
    return config;
  },
};

export default nextConfig;
