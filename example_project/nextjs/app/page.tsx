import { headers } from "next/headers";
import { getSession } from "@/lib/auth";
import { settings } from "@/lib/settings";

export const dynamic = "force-dynamic";

export default async function Home() {
  const session = await getSession();
  const { version, format, services } = settings();
  // This app's origin as the browser sees it, for Django's redirect back here after sign-in
  // (Django must list it in NEXTAUTH_ALLOWED_REDIRECT_ORIGINS).
  const here = `http://${(await headers()).get("host")}`;
  const djangoSignIn = `${services.django.base}/signin/?callbackUrl=${encodeURIComponent(`${here}/protected`)}`;
  return (
    <>
      <h1>Next.js in front of the mesh</h1>
      <p>
        NextAuth {version === "5" ? "5 (Auth.js)" : "4"} signs you in against the Django service; its session
        token (format <code>{format}</code>) is what Django, Express, FastAPI and Go verify.
      </p>
      {session ? (
        <p id="who">
          Signed in as <strong>{session.user.email}</strong>. <a href="/protected">Protected page</a> ·{" "}
          <a id="signout" href="/api/auth/signout">Sign out</a>
        </p>
      ) : (
        <p id="who">
          Signed out. <a id="signin" href="/api/auth/signin?callbackUrl=%2Fprotected">Sign in</a> (demo@example.com /
          demo-password), or on <a href={djangoSignIn}>Django&apos;s sign-in page</a>.
        </p>
      )}
    </>
  );
}
