// GET /mesh/<service>: the browser's way to the services behind this app. The session cookie is
// HttpOnly (no script can read it to build a Bearer header) and the services are other origins
// without CORS, so the browser asks this app, which forwards the token as Bearer. middleware.ts
// has verified the token before this runs; the service verifies it again and answers.
import { askService } from "@/lib/mesh";
import { SERVICES, settings, type Service } from "@/lib/settings";
import { sessionToken } from "@/lib/auth";

export const dynamic = "force-dynamic";

export async function GET(_request: Request, { params }: { params: Promise<{ service: string }> }): Promise<Response> {
  const { service } = await params;
  if (!SERVICES.includes(service as Service)) {
    return Response.json({ detail: "No such service.", code: "not_found" }, { status: 404 });
  }
  const answer = await askService(service as Service, settings(), await sessionToken());
  return Response.json(answer, { status: answer.status === null ? 502 : 200, headers: { "cache-control": "no-store" } });
}
