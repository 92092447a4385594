// NextAuth's endpoints: /api/auth/signin, /callback/*, /session, /csrf, /signout, ...
import { authRoute } from "@/lib/auth";

export const dynamic = "force-dynamic";
export { authRoute as GET, authRoute as POST };
