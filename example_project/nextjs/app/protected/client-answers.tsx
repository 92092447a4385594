"use client";
// The same question from the browser: fetch("/mesh/<service>") on this app's origin, which
// sends the HttpOnly session cookie; the app forwards the token as Bearer (app/mesh/[service]).
import { useCallback, useEffect, useState } from "react";
import type { Answer } from "@/lib/mesh";
import { SERVICES } from "@/lib/settings";
import { AnswersTable } from "./answers-table";

export function ClientAnswers() {
  const [answers, setAnswers] = useState<Answer[] | null>(null);
  const ask = useCallback(async () => {
    setAnswers(null);
    const results = await Promise.all(
      SERVICES.map(async (service): Promise<Answer> => {
        const response = await fetch(`/mesh/${service}`, { cache: "no-store" });
        if (response.headers.get("content-type")?.includes("json")) {
          const body = await response.json();
          // 200: the service's answer, forwarded; 401: this app's middleware refused the token.
          return response.ok ? (body as Answer) : { service, url: `/mesh/${service}`, status: response.status, body };
        }
        return { service, url: `/mesh/${service}`, status: response.status, body: await response.text() };
      }),
    );
    setAnswers(results);
  }, []);
  useEffect(() => {
    void ask();
  }, [ask]);
  return (
    <div id="client" data-state={answers ? "done" : "asking"}>
      {answers ? <AnswersTable id="client-answers" answers={answers} /> : <p className="muted">Asking...</p>}
      <button type="button" onClick={() => void ask()}>
        Ask again
      </button>
    </div>
  );
}
