import { request } from "node:https";

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/**
 * A cookie-keeping HTTPS client for the fake Vinted: connects to 127.0.0.1:port while presenting the
 * Vinted host name (SNI and Host header), trusting only the fake's own certificate.
 */
export class FakeVintedClient {
  readonly cookies = new Map<string, string>();

  constructor(private readonly host: string, private readonly port: number, private readonly ca: string) {}

  cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
  }

  async send(method: string, path: string, options: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<HttpsAnswer> {
    const answer = await new Promise<{ status: number; headers: HttpsAnswer["headers"]; text: string }>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: this.port,
          servername: this.host,
          method,
          path,
          ca: this.ca,
          headers: { host: `${this.host}:${this.port}`, cookie: this.cookieHeader(), ...options.headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
        },
      );
      req.on("error", reject);
      req.end(options.body);
    });
    for (const cookie of ([] as string[]).concat(answer.headers["set-cookie"] ?? [])) {
      const [pair] = cookie.split(";");
      const [name, ...value] = (pair ?? "").split("=");
      if (name) this.cookies.set(name.trim(), value.join("="));
    }
    return { ...answer, json: <T>() => JSON.parse(answer.text) as T };
  }

  sendJson(method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpsAnswer> {
    return this.send(method, path, { headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  }
}

/** Serialises FormData the way a browser would (boundary included) using the platform's Response. */
export async function encodeMultipart(form: FormData): Promise<{ body: Buffer; contentType: string }> {
  const response = new Response(form);
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get("content-type") ?? "" };
}
