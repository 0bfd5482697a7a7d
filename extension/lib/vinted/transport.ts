import {
  BRIDGE_REQUEST_EVENT,
  BRIDGE_RESPONSE_EVENT,
  channelEventName,
  type BridgeBody,
  type BridgeRequest,
  type BridgeResponse,
} from "./bridge-protocol";

export interface RawResponse {
  status: number;
  contentType: string | null;
  retryAfter: string | null;
  text: string;
}

export interface VintedTransport {
  send(method: BridgeRequest["method"], path: string, headers: Record<string, string>, body: BridgeBody): Promise<RawResponse>;
}

export class TransportError extends Error {}

const REQUEST_TIMEOUT_MS = 90_000;

/** Content-script side of the bridge: hands requests to the page's main world and awaits answers. */
export class BridgeTransport implements VintedTransport {
  private readonly pending = new Map<string, (response: BridgeResponse) => void>();

  constructor(private readonly channel: string) {
    document.addEventListener(channelEventName(BRIDGE_RESPONSE_EVENT, channel), (event) => {
      const detail = (event as CustomEvent<unknown>).detail;
      if (typeof detail !== "string") return;
      const response = JSON.parse(detail) as BridgeResponse;
      this.pending.get(response.id)?.(response);
    });
  }

  send(method: BridgeRequest["method"], path: string, headers: Record<string, string>, body: BridgeBody): Promise<RawResponse> {
    const id = crypto.randomUUID();
    const request: BridgeRequest = { id, method, path, headers, body };
    return new Promise<RawResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError(`Vinted did not answer ${method} ${path} within ${REQUEST_TIMEOUT_MS / 1000} s`));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, (response) => {
        clearTimeout(timer);
        this.pending.delete(id);
        if (response.ok) resolve(response);
        else reject(new TransportError(response.error));
      });
      document.dispatchEvent(new CustomEvent(channelEventName(BRIDGE_REQUEST_EVENT, this.channel), { detail: JSON.stringify(request) }));
    });
  }
}
