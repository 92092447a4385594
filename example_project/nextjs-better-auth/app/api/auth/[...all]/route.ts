// Better Auth's own API under /api/auth/* (get-session, sign-in, sign-out, revoke-sessions, ...).
import { toNextJsHandler } from "better-auth/next-js";
import { auth } from "@/lib/auth";

export const dynamic = "force-dynamic";

const handler = (request: Request) => auth().handler(request);
export const { GET, POST } = toNextJsHandler(handler);
