/** The request function of every test client: JSON in, JSON (or text) out, a bearer token when given. */
import type { RequestOptions, TestResponse } from "./app.js";

export function httpRequester(baseUrl: string) {
  return async <T,>(method: string, path: string, opts: RequestOptions = {}): Promise<TestResponse<T>> => {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
    let body: string | undefined = opts.rawBody;
    if (opts.body !== undefined) body = JSON.stringify(opts.body);
    if (body !== undefined) headers["Content-Type"] ??= "application/json";
    const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
    const text = await res.text();
    const isJson = (res.headers.get("content-type") ?? "").includes("json");
    return { status: res.status, headers: res.headers, body: (text === "" ? null : isJson ? JSON.parse(text) : text) as T };
  };
}
