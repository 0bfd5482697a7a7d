/** What the Vinted page itself tells about the session: CSRF token (inline script JSON) and anon_id cookie. */

const CSRF_PATTERNS = [
  /"CSRF_TOKEN"\s*:\s*"([^"\\]+)"/,
  // Next.js flight data escapes the JSON inside a JS string.
  /\\"CSRF_TOKEN\\"\s*:\s*\\"([^"\\]+)\\"/,
];

export function findCsrfToken(text: string): string | null {
  for (const pattern of CSRF_PATTERNS) {
    const match = pattern.exec(text);
    if (match?.[1]) return match[1];
  }
  return null;
}

export function readCsrfTokenFromDocument(doc: Document): string | null {
  const meta = doc.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content;
  if (meta) return meta;
  for (const script of Array.from(doc.querySelectorAll("script:not([src])"))) {
    const token = findCsrfToken(script.textContent ?? "");
    if (token) return token;
  }
  return null;
}

export function readCookie(cookieHeader: string, name: string): string | null {
  for (const part of cookieHeader.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

export function readAnonId(doc: Document): string | null {
  return readCookie(doc.cookie, "anon_id");
}
