/**
 * Runs in the Vinted page's main world (injected by the content script), so Vinted requests leave
 * from the page's own fetch — with its cookies and its anti-bot instrumentation — instead of an
 * extension context that looks foreign. It only forwards: all Vinted knowledge lives in lib/vinted.
 */
import { defineUnlistedScript } from "wxt/utils/define-unlisted-script";
import {
  BRIDGE_READY_EVENT,
  BRIDGE_REQUEST_EVENT,
  BRIDGE_RESPONSE_EVENT,
  channelEventName,
  type BridgeBody,
  type BridgeRequest,
  type BridgeResponse,
} from "../lib/vinted/bridge-protocol";

function decodeBase64(base64: string): Uint8Array<ArrayBuffer> {
  const binary = atob(base64);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toFetchBody(body: BridgeBody): BodyInit | undefined {
  if (body.kind === "none") return undefined;
  if (body.kind === "json") return body.json;
  const form = new FormData();
  for (const [name, value] of body.fields) form.append(name, value);
  const blob = new Blob([decodeBase64(body.file.base64)], { type: body.file.contentType });
  form.append(body.file.field, blob, body.file.filename);
  return form;
}

/** Only same-origin paths: the bridge must never become a way to send the session elsewhere. */
function isSameOriginPath(path: string): boolean {
  return path.startsWith("/") && !path.startsWith("//");
}

async function perform(request: BridgeRequest): Promise<BridgeResponse> {
  if (!isSameOriginPath(request.path)) return { id: request.id, ok: false, error: "refused: not a same-origin path" };
  try {
    const response = await fetch(new URL(request.path, location.origin), {
      method: request.method,
      headers: request.headers,
      body: toFetchBody(request.body),
      credentials: "include",
    });
    return {
      id: request.id,
      ok: true,
      status: response.status,
      contentType: response.headers.get("content-type"),
      retryAfter: response.headers.get("retry-after"),
      text: await response.text(),
    };
  } catch (error) {
    return { id: request.id, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

export default defineUnlistedScript(() => {
  const channel = (document.currentScript as HTMLScriptElement | null)?.dataset.channel;
  if (!channel) return;
  const responseEvent = channelEventName(BRIDGE_RESPONSE_EVENT, channel);
  document.addEventListener(channelEventName(BRIDGE_REQUEST_EVENT, channel), (event) => {
    const detail = (event as CustomEvent<unknown>).detail;
    if (typeof detail !== "string") return;
    void perform(JSON.parse(detail) as BridgeRequest).then((response) => {
      document.dispatchEvent(new CustomEvent(responseEvent, { detail: JSON.stringify(response) }));
    });
  });
  document.dispatchEvent(new CustomEvent(channelEventName(BRIDGE_READY_EVENT, channel)));
});
