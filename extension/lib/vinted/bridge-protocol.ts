/**
 * Messages between the content script (isolated world) and the bridge (page's main world).
 * They travel as JSON strings in CustomEvent.detail: strings cross the Firefox Xray boundary
 * without cloneInto, and nothing but data ever crosses.
 */
export const BRIDGE_REQUEST_EVENT = "markethub:vinted-request";
export const BRIDGE_RESPONSE_EVENT = "markethub:vinted-response";
export const BRIDGE_READY_EVENT = "markethub:vinted-ready";

export type BridgeBody =
  | { kind: "none" }
  | { kind: "json"; json: string }
  | {
      kind: "multipart";
      fields: Array<[name: string, value: string]>;
      file: { field: string; filename: string; contentType: string; base64: string };
    };

export interface BridgeRequest {
  id: string;
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path + query on the tab's own origin; the bridge refuses anything else. */
  path: string;
  headers: Record<string, string>;
  body: BridgeBody;
}

export type BridgeResponse =
  | { id: string; ok: true; status: number; contentType: string | null; retryAfter: string | null; text: string }
  | { id: string; ok: false; error: string };

export function channelEventName(base: string, channel: string): string {
  return `${base}:${channel}`;
}
