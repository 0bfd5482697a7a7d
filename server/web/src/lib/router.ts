/**
 * Hash routes (#/batches/batch-…): the server's `/tasks/` belongs to the API, so the dashboard's
 * pages live after the `#` and a reload never asks the server for a page path.
 */
import { useEffect, useState } from "preact/hooks";

export interface Route {
  /** Path segments after `#/`, e.g. ["batches", "batch-20260101-abc123"]. */
  segments: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const [path = "", search = ""] = hash.replace(/^#\/?/, "").split("?");
  return { segments: path.split("/").filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(search) };
}

export function href(path: string, query?: Record<string, string>): string {
  const search = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== "")).toString() : "";
  return `#/${path.replace(/^\//, "")}${search ? `?${search}` : ""}`;
}

export function navigate(path: string, query?: Record<string, string>): void {
  location.hash = href(path, query);
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
