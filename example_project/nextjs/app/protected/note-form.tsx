"use client";
// Keep a note in the session token: what next-auth/react's update({ note }) sends (the same
// request for next-auth 4 and Auth.js 5). The jwt callback (django.mjs) copies the note into
// the token; past about 3.9 kB NextAuth splits the cookie into chunks (<name>.0, <name>.1, ...).
import { useRouter } from "next/navigation";
import { useEffect, useState, type FormEvent } from "react";

export function NoteForm({ note }: { note: string }) {
  const router = useRouter();
  const [status, setStatus] = useState("");
  // Until React hydrates the form, a click submits it natively (a GET of this page): the
  // browser tests wait for data-ready before they type.
  const [ready, setReady] = useState(false);
  useEffect(() => setReady(true), []);
  async function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const text = String(new FormData(event.currentTarget).get("note") ?? "");
    setStatus("Saving...");
    const { csrfToken } = await (await fetch("/api/auth/csrf", { cache: "no-store" })).json();
    const response = await fetch("/api/auth/session", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ csrfToken, data: { note: text } }),
    });
    const session = response.ok ? await response.json() : null;
    if (!session?.user) {
      setStatus(`Not saved (HTTP ${response.status}).`);
      return;
    }
    setStatus(`Saved: ${String(session.note ?? "").length} characters.`);
    router.refresh(); // render the page again with the new token
  }
  return (
    <form id="note-form" onSubmit={save} data-ready={ready ? "true" : undefined}>
      <textarea name="note" id="note" rows={3} defaultValue={note} placeholder="Anything; a long note makes a chunked cookie." />
      <p>
        <button type="submit">Save in the session</button> <span id="note-status">{status}</span>{" "}
        <span className="muted" id="note-length" data-length={note.length}>
          (the token holds {note.length} characters of note)
        </span>
      </p>
    </form>
  );
}
