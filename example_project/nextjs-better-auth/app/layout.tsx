import type { Metadata } from "next";
import type { ReactNode } from "react";
import "./globals.css";

export const metadata: Metadata = { title: "Mesh front end (Next.js + Better Auth)" };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <header>
          <span className="brand">Mesh front end (Better Auth)</span>
          <a href="/">Home</a>
          <a href="/protected">Protected page</a>
        </header>
        <main>{children}</main>
      </body>
    </html>
  );
}
