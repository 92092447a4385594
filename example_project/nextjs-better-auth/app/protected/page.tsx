// A protected page, rendered on the server: Better Auth's session, then Django asked server to
// server with the browser's cookie cache as Bearer (middleware.ts has had Better Auth re-issue it
// if it had expired). The browser reaches Django itself too: the same cookie goes with it to
// Django's pages on this host name (cookies ignore ports).
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { auth, readCookieCache } from "@/lib/auth";
import { settings } from "@/lib/settings";
import { signOut, signOutEverywhere } from "../actions";

export const dynamic = "force-dynamic";

interface Answer {
  status: number | null; // null: no answer (Django is down)
  body: unknown;
}

async function askDjango(url: string, token: string | undefined): Promise<Answer> {
  try {
    const response = await fetch(url, {
      headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      cache: "no-store",
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    try {
      return { status: response.status, body: JSON.parse(text) };
    } catch {
      return { status: response.status, body: text };
    }
  } catch (error) {
    return { status: null, body: { error: (error as Error).name } };
  }
}

export default async function ProtectedPage() {
  const session = await auth().api.getSession({ headers: await headers() });
  if (!session) redirect("/");
  const current = settings();
  const jar = await cookies();
  const token = readCookieCache(jar, current.cacheCookie);
  const me = `${current.djangoURL}/api/me/`;
  const answer = await askDjango(me, token);
  const { user } = session;
  return (
    <>
      <h1>Hello, {user.name || user.email}</h1>
      <p id="who" data-email={user.email} data-id={user.id} data-session={session.session.id}>
        Signed in as <strong>{user.email}</strong> (Better Auth user {user.id}, session {session.session.id}).
      </p>
      <p className="muted" id="cache-info" data-strategy={current.strategy} data-length={token?.length ?? 0}>
        Cookie cache <code>{current.cacheCookie}</code>, strategy <code>{current.strategy}</code>,{" "}
        {token?.length ?? 0} characters, re-issued by Better Auth every {current.cacheMaxAge} s.
      </p>
      <h2>Django, asked by this server</h2>
      <table id="django-answer" data-status={answer.status ?? "none"}>
        <tbody>
          <tr>
            <td>
              GET <span className="muted">{me}</span>
            </td>
            <td className={answer.status === 200 ? "ok" : "refused"}>{answer.status ?? "no answer"}</td>
          </tr>
          <tr>
            <td colSpan={2}>
              <pre>{JSON.stringify(answer.body, null, 1)}</pre>
            </td>
          </tr>
        </tbody>
      </table>
      <h2>Django, from your browser</h2>
      <p>
        Your browser sends the same cookie to Django on this host name:{" "}
        <a id="django-me" href={me}>
          its API
        </a>{" "}
        and{" "}
        <a id="django-dashboard" href={`${current.djangoURL}/dashboard/`}>
          its dashboard
        </a>
        .
      </p>
      <form id="signout" action={signOut}>
        <button type="submit">Sign out (here and at Django)</button>
      </form>
      <form id="signout-everywhere" action={signOutEverywhere}>
        <button type="submit">Sign out everywhere (every session, here and at Django)</button>
      </form>
    </>
  );
}
