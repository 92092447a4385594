// The example's Next.js front end. One build serves every variant: the NextAuth version
// (NEXTAUTH_VERSION) and the token format (NEXTAUTH_JWT_FORMAT) are read at start-up.

/** @type {import("next").NextConfig} */
const nextConfig = {
  // Next.js rewrites a request's host 127.0.0.1 (or [::1]) to "localhost" in the URL that
  // middleware and route handlers see. Auth.js 5 builds its pages and redirects from that URL:
  // its sign-in page, opened at http://127.0.0.1:3000, posts to http://localhost:3000, where the
  // browser holds no CSRF cookie, and sign-in fails with MissingCSRF. Keep the host as sent.
  skipMiddlewareUrlNormalize: true,
  poweredByHeader: false,
  reactStrictMode: true,
  // No ESLint in this example's dependencies; `next build` still type-checks (TypeScript strict).
  eslint: { ignoreDuringBuilds: true },
};

export default nextConfig;
