// A protected page, rendered on the server: middleware.ts has verified the session token; the
// page reads the session and asks every service, server to server, with the token as Bearer.
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { getSession, sessionToken } from "@/lib/auth";
import { askEveryService } from "@/lib/mesh";
import { settings } from "@/lib/settings";
import { verifySessionToken } from "@/lib/session-token";
import { AnswersTable } from "./answers-table";
import { ClientAnswers } from "./client-answers";
import { LiveLine } from "./live-line";
import { NoteForm } from "./note-form";

export const dynamic = "force-dynamic";

export default async function ProtectedPage() {
  const session = await getSession();
  if (!session) redirect("/api/auth/signin?callbackUrl=%2Fprotected");
  const current = settings();
  const token = await sessionToken();
  const answers = await askEveryService(current, token);
  // The expiry the token itself carries (next-auth 4's getServerSession leaves `expires` out).
  const claims = token ? await verifySessionToken(token, current) : null;
  const expires = claims ? new Date(claims.exp * 1000).toISOString() : "unknown";
  const jar = await cookies();
  const chunks = jar.getAll().filter(({ name }) => name.startsWith(`${current.cookieName}.`)).length;
  const { user } = session;
  return (
    <>
      <h1>Hello, {user.name ?? user.email}</h1>
      <p id="who" data-email={user.email ?? ""} data-id={user.id}>
        Signed in as <strong>{user.email}</strong> (id {user.id}
        {user.role ? `, role ${user.role}` : ""}).
      </p>
      <p className="muted" id="token-info" data-chunks={chunks} data-length={token?.length ?? 0} data-expires={expires}>
        NextAuth {current.version}, format <code>{current.format}</code>, cookie <code>{current.cookieName}</code>
        {chunks > 0 ? ` in ${chunks} chunks` : ""}, {token?.length ?? 0} characters. Expires {expires}.
      </p>
      <h2>The services, asked by this server</h2>
      <AnswersTable id="server-answers" answers={answers} />
      <h2>The services, asked from your browser</h2>
      <ClientAnswers />
      <h2>Live from Django</h2>
      <LiveLine url={current.liveUrl} />
      <h2>Session note</h2>
      <NoteForm note={session.note} />
      <p>
        <a id="signout" className="button" href="/api/auth/signout">
          Sign out (here and at Django)
        </a>
      </p>
    </>
  );
}
