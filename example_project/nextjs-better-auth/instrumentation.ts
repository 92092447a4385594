// Runs once when the server starts: a misconfiguration (no secret, an unknown strategy, no
// BETTER_AUTH_URL) stops `next start` with its reason, before any request. Then the demo account
// (demo@example.com / demo-password) is made in the memory store, as `make mesh` promises.
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  const { settings } = await import("@/lib/settings");
  try {
    settings();
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
  const { auth } = await import("@/lib/auth");
  const { internalAdapter } = await auth().$context;
  if (!(await internalAdapter.findUserByEmail("demo@example.com"))) {
    await auth().api.signUpEmail({
      body: { name: "Demo User", email: "demo@example.com", password: "demo-password" },
    });
  }
}
