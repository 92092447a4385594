import { headers } from "next/headers";
import { auth } from "@/lib/auth";
import { settings } from "@/lib/settings";
import { signIn, signUp } from "./actions";

export const dynamic = "force-dynamic";

export default async function Home({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const session = await auth().api.getSession({ headers: await headers() });
  const { error } = await searchParams;
  const { strategy, djangoURL } = settings();
  return (
    <>
      <h1>Next.js with Better Auth in front of Django</h1>
      <p>
        Better Auth signs you in with its own accounts (email and password). Its session cookie cache (
        <code>better-auth.session_data</code>, strategy <code>{strategy}</code>) is what the Django service at{" "}
        <code>{djangoURL}</code> verifies, with Better Auth&apos;s secret.
      </p>
      {session ? (
        <p id="who">
          Signed in as <strong>{session.user.email}</strong>. <a href="/protected">Protected page</a>
        </p>
      ) : (
        <>
          <p id="who">Signed out.</p>
          {error ? (
            <p id="error" className="refused" data-code={error}>
              {error}
            </p>
          ) : null}
          <h2>Sign in</h2>
          <form id="signin" action={signIn}>
            <label>
              Email <input name="email" type="email" autoComplete="username" required />
            </label>{" "}
            <label>
              Password <input name="password" type="password" autoComplete="current-password" required />
            </label>{" "}
            <button type="submit">Sign in</button>
          </form>
          <p className="muted">demo@example.com / demo-password, or an account you sign up below.</p>
          <h2>Sign up</h2>
          <form id="signup" action={signUp}>
            <label>
              Name <input name="name" required />
            </label>{" "}
            <label>
              Email <input name="email" type="email" autoComplete="username" required />
            </label>{" "}
            <label>
              Password <input name="password" type="password" autoComplete="new-password" minLength={8} required />
            </label>{" "}
            <button type="submit">Sign up</button>
          </form>
        </>
      )}
    </>
  );
}
