// Calls to the services behind this app, server to server, with the session token as Bearer.
import { SERVICES, type Service, type Settings } from "@/lib/settings";

export interface Answer {
  service: Service;
  url: string;
  status: number | null; // null: no answer at all (the service is down)
  body: unknown;
}

export async function askService(service: Service, settings: Settings, token: string | undefined): Promise<Answer> {
  const { base, whoami } = settings.services[service];
  const url = `${base}${whoami}`;
  try {
    const response = await fetch(url, {
      headers: { accept: "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      cache: "no-store",
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: shown as text
    }
    return { service, url, status: response.status, body };
  } catch (error) {
    return { service, url, status: null, body: { error: (error as Error).name } };
  }
}

export function askEveryService(settings: Settings, token: string | undefined): Promise<Answer[]> {
  return Promise.all(SERVICES.map((service) => askService(service, settings, token)));
}
