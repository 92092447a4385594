// Sign people in against the Django service: NextAuth's Credentials provider calls
// POST /api/auth/custom-login server to server (no cookies, no Origin: Django's
// sign-in CSRF policy lets it through) and gets the user back.
//
// Executed by django-nextauth-jwt's interop tests.
const DJANGO_URL = () => process.env.DJANGO_URL ?? "http://127.0.0.1:8000";

export async function authorizeWithDjango(credentials) {
  const email = credentials?.email;
  const password = credentials?.password;
  if (typeof email !== "string" || typeof password !== "string") return null;
  const response = await fetch(`${DJANGO_URL()}/api/auth/custom-login`, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify({ email, password }),
  });
  if (!response.ok) return null; // 401 invalid_credentials, 429 throttled, ...
  const { user } = await response.json();
  // NextAuth puts `id` in the token's `sub`: the same id Django mints with.
  return { id: user.id, email: user.email, name: user.name, image: user.image, role: user.role };
}

// The callbacks that carry `role` (and the Django id) from sign-in into the token
// and from the token into the session, in both NextAuth 4 and Auth.js 5.
export const callbacks = {
  async jwt({ token, user }) {
    if (user) {
      token.sub = String(user.id);
      if (user.role) token.role = user.role;
    }
    return token;
  },
  async session({ session, token }) {
    if (session.user) {
      session.user.id = token.sub;
      session.user.role = token.role ?? null;
    }
    return session;
  },
};
