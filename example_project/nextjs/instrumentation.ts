// Runs once when the server starts: a misconfiguration (no secret, an unknown format, a format
// the chosen NextAuth version cannot write, next-auth 4 without NEXTAUTH_URL) stops `next start`
// with its reason, before any request, instead of failing every request.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { settings } = await import("@/lib/settings");
  const { describeClientAddress } = await import("@/django.mjs");
  try {
    settings();
    // Where the browser's address comes from, or that it cannot be known (a warning then).
    const where = describeClientAddress();
    (where.includes("is not set") ? console.warn : console.log)(where);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
