import type { PhotoFetchResponse } from "../messages";
import type { AuthManager } from "../server/auth";

const MAX_PHOTO_BYTES = 20 * 1024 * 1024;

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  return btoa(binary);
}

function filenameOf(url: URL, contentType: string): string {
  const last = url.pathname.split("/").filter(Boolean).pop();
  if (last && /\.[a-z0-9]{2,5}$/i.test(last)) return last;
  return `photo.${contentType.split("/")[1]?.split(";")[0] ?? "jpg"}`;
}

/**
 * Downloads a photo for the Vinted tab. The background does it because it holds the MarketHub
 * token and host permission; the bytes then go to the page, which builds the multipart body itself.
 */
export async function downloadPhoto(rawUrl: string, auth: AuthManager): Promise<PhotoFetchResponse> {
  try {
    const url = new URL(rawUrl);
    const headers: Record<string, string> = {};
    const session = await auth.session().catch(() => null);
    // Only MarketHub's own URLs get the token.
    if (session && new URL(session.serverUrl).origin === url.origin) headers.authorization = `Bearer ${session.accessToken}`;
    const response = await fetch(url, { headers, signal: AbortSignal.timeout(60_000) });
    if (!response.ok) return { ok: false, error: `photo download answered ${response.status}` };
    const contentType = response.headers.get("content-type") ?? "image/jpeg";
    if (!contentType.startsWith("image/")) return { ok: false, error: `not an image (${contentType})` };
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length === 0 || bytes.length > MAX_PHOTO_BYTES) return { ok: false, error: `photo size ${bytes.length} bytes is out of range` };
    return { ok: true, photo: { base64: toBase64(bytes), contentType: contentType.split(";")[0] ?? "image/jpeg", filename: filenameOf(url, contentType) } };
  } catch (error) {
    return { ok: false, error: `photo download failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}
