"use server";
// The forms' server actions: Better Auth's API called in process, its cookies set through
// next/headers (the nextCookies plugin). A failure comes back as ?error= on the home page, with
// Better Auth's code only (never the password or a cookie).
import { APIError } from "better-auth/api";
import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { auth } from "@/lib/auth";

function field(form: FormData, name: string): string {
  const value = form.get(name);
  return typeof value === "string" ? value : "";
}

function failure(error: unknown): string {
  if (error instanceof APIError) return String(error.body?.code ?? error.status);
  throw error;
}

export async function signUp(form: FormData): Promise<void> {
  let error: string | undefined;
  try {
    await auth().api.signUpEmail({
      body: { name: field(form, "name"), email: field(form, "email"), password: field(form, "password") },
      headers: await headers(),
    });
  } catch (caught) {
    error = failure(caught);
  }
  redirect(error ? `/?error=${encodeURIComponent(error)}` : "/protected");
}

export async function signIn(form: FormData): Promise<void> {
  let error: string | undefined;
  try {
    await auth().api.signInEmail({
      body: { email: field(form, "email"), password: field(form, "password") },
      headers: await headers(),
    });
  } catch (caught) {
    error = failure(caught);
  }
  redirect(error ? `/?error=${encodeURIComponent(error)}` : "/protected");
}

/** This browser's session: deleted at Better Auth, whose hook revokes it at Django. */
export async function signOut(): Promise<void> {
  await auth().api.signOut({ headers: await headers() });
  redirect("/");
}

/** Every session of this person (revoke-sessions): each one deleted, and revoked at Django. */
export async function signOutEverywhere(): Promise<void> {
  try {
    await auth().api.revokeSessions({ headers: await headers() });
  } catch (caught) {
    failure(caught); // no session any more: nothing to revoke
  }
  redirect("/");
}
