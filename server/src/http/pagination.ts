import type { Request } from "express";
import type { Page, PageQuery } from "../../../shared/common.js";

export function skipOf(query: PageQuery): number {
  return (query.page - 1) * query.page_size;
}

/**
 * The list envelope; `next`/`previous` are relative to the list's own URL, as spec/task-core-api.md
 * shows them ("?page=2"), and keep the request's other query parameters.
 */
export function toPage<T>(req: Request, query: PageQuery, count: number, results: T[]): Page<T> {
  const lastPage = Math.max(1, Math.ceil(count / query.page_size));
  return {
    count,
    next: query.page < lastPage ? linkToPage(req, query.page + 1) : null,
    previous: query.page > 1 ? linkToPage(req, Math.min(query.page - 1, lastPage)) : null,
    results,
  };
}

function linkToPage(req: Request, page: number): string {
  const url = new URL(req.originalUrl, "http://placeholder");
  url.searchParams.set("page", String(page));
  return url.search;
}
