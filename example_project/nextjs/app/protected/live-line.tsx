"use client";
// A line Django pushes over a WebSocket (example_project/mesh/live.py, behind
// NextAuthChannelsMiddleware). The browser opens it straight to Django: Next.js and Django share
// the host name (ports aside), so the browser sends the HttpOnly session cookie on the handshake
// by itself, and its Origin (this app's), which Django allows in NEXTAUTH_WEBSOCKET_ORIGINS. No
// token reaches this component. Django closes the socket with 4401 and the reason (token_revoked,
// token_expired) the moment the session is signed out anywhere, or its token expires.
import { useEffect, useState } from "react";

interface Line {
  now: string;
  user: string;
}

export function LiveLine({ url }: { url: string }) {
  const [line, setLine] = useState<Line | null>(null);
  const [count, setCount] = useState(0);
  const [closed, setClosed] = useState<string | null>(null);
  useEffect(() => {
    const socket = new WebSocket(url);
    socket.onmessage = (event) => {
      setLine(JSON.parse(String(event.data)) as Line);
      setCount((seen) => seen + 1);
    };
    socket.onclose = (event) => setClosed(`closed: ${event.code} ${event.reason}`.trim());
    return () => {
      socket.onclose = null; // leaving the page is no news
      socket.close();
    };
  }, [url]);
  const state = closed ? "closed" : line ? "open" : "connecting";
  return (
    <p id="live" data-state={state} data-count={count}>
      {line ? (
        <>
          Django's clock: <strong id="live-now">{line.now}</strong> (for user {line.user}).{" "}
        </>
      ) : null}
      {closed ? (
        <span id="live-closed" className="refused">
          {closed}
        </span>
      ) : line ? null : (
        <span className="muted">Connecting to {url}...</span>
      )}
    </p>
  );
}
