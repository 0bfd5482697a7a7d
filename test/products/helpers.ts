/** What the catalog suites share: a brand's caller, image bytes, and requests with raw bodies. */
import { randomBytes } from "node:crypto";
import type { Product } from "../../shared/products.js";
import type { RegisteredUser, TestServer } from "../helpers/app.js";

export type Body = Record<string, unknown>;

/** Bytes that are recognisably an image of the given type (header + random payload). */
export function imageBytes(type: "png" | "jpeg" | "webp" | "gif", size = 2048): Buffer {
  const header = {
    png: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
    gif: Buffer.from("GIF89a", "latin1"),
    webp: Buffer.concat([Buffer.from("RIFF", "latin1"), Buffer.alloc(4), Buffer.from("WEBP", "latin1")]),
  }[type];
  return Buffer.concat([header, randomBytes(Math.max(0, size - header.length))]);
}

export class Seller {
  constructor(
    readonly server: TestServer,
    readonly user: RegisteredUser,
  ) {}

  get token(): string {
    return this.user.access_token;
  }

  request<T = Body>(method: string, path: string, body?: unknown) {
    return this.server.request<T>(method, path, { token: this.token, body });
  }

  async createProduct(fields: Body = {}): Promise<Product> {
    const res = await this.request<Product>("POST", "/api/v1/products/", { title: "T-shirt Nike noir", price: 15, ...fields });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** POST with any body (multipart FormData or raw bytes) through fetch itself. */
  async send(method: string, path: string, body: NonNullable<RequestInit["body"]>, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: unknown; bytes: Buffer }> {
    const res = await fetch(`${this.server.baseUrl}${path}`, { method, body, headers: { Authorization: `Bearer ${this.token}`, ...headers } });
    const bytes = Buffer.from(await res.arrayBuffer());
    const isJson = (res.headers.get("content-type") ?? "").includes("json");
    return { status: res.status, headers: res.headers, body: isJson ? JSON.parse(bytes.toString()) : null, bytes };
  }

  async download(path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; bytes: Buffer }> {
    const res = await fetch(`${this.server.baseUrl}${path}`, { headers: { Authorization: `Bearer ${this.token}`, ...headers } });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }
}

export async function newSeller(server: TestServer): Promise<Seller> {
  return new Seller(server, await server.register());
}
