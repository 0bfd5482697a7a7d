/**
 * The one way to add an API route. A definition carries its zod schemas, which (1) validate the
 * request before the handler runs, (2) type the handler's input and output, and (3) describe the
 * route in the OpenAPI document — so no route can exist without a schema, and the document cannot
 * drift from what is served. Paths are full Express paths on one flat router, so walking the router
 * finds every route (test/server/openapi.test.ts relies on it).
 */
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import type { OpenAPIRegistry, RouteConfig, ZodContentObject } from "@asteasolutions/zod-to-openapi";
import { z } from "zod";
import { BRAND_ID_HEADER, type BrandRole } from "../../../shared/brands.js";
import { ErrorResponseSchema } from "../../../shared/errors.js";
import type { BrandAccess, Principal } from "./context.js";
import { AppError } from "./errors.js";
import { parseOrThrow, rejectUnsafeKeys } from "./validation.js";

export type HttpMethod = "get" | "post" | "put" | "patch" | "delete";

/**
 * none: public. optional: a token is not needed, but one that is sent must be valid.
 * user: user-scoped. brand: user-scoped plus a brand the caller is a member of.
 */
export type AuthMode = "none" | "optional" | "user" | "brand";

type ObjectSchema = z.ZodObject;
type Infer<S, Fallback> = S extends z.ZodType ? z.output<S> : S extends BinaryContent ? RawUpload : Fallback;

/**
 * A request body or an answer made of bytes rather than JSON (photo uploads and downloads).
 * `content` maps each accepted media type (wildcards allowed: "image/*") to its OpenAPI schema.
 */
export class BinaryContent {
  readonly mediaTypes: string[];

  constructor(
    readonly content: ZodContentObject,
    /** Largest accepted request body, e.g. "25mb" (request bodies only). */
    readonly limit = "1mb",
  ) {
    this.mediaTypes = Object.keys(content);
  }
}

/** A binary request body as the handler receives it. */
export interface RawUpload {
  contentType: string;
  bytes: Buffer;
}

/** A binary answer: the handler returns the bytes and their type (and e.g. an ETag). */
export interface BinaryReply {
  contentType: string;
  bytes: Buffer;
  headers?: Record<string, string>;
}

export interface RouteContext<A extends AuthMode, P, Q, B> {
  params: Infer<P, Record<string, never>>;
  query: Infer<Q, Record<string, never>>;
  body: Infer<B, undefined>;
  principal: A extends "user" | "brand" ? Principal : A extends "optional" ? Principal | null : null;
  brand: A extends "brand" ? BrandAccess : null;
  req: Request;
  res: Response;
}

export interface RouteSpec<A extends AuthMode, P, Q, B, R extends z.ZodType | BinaryContent | null> {
  method: HttpMethod;
  /** Full Express path, e.g. "/api/v1/brands/:id/members". */
  path: string;
  summary: string;
  description?: string;
  tags: string[];
  auth: A;
  /** auth "brand": the path parameter holding the brand id; without it the X-Brand-ID header is used. */
  brandParam?: string;
  /** auth "brand": the least role the caller needs in that brand. */
  brandRole?: BrandRole;
  /** Runs before authentication, so floods are refused before any work. */
  rateLimit?: RequestHandler;
  /** Runs before authentication too: a route whose contract answers missing credentials its own way. */
  beforeAuth?: RequestHandler;
  request?: { params?: P; query?: Q; body?: B };
  /** Largest JSON body this route reads (default: the router's BODY_LIMIT). */
  bodyLimit?: string;
  /** Run after authentication and before the body is read (e.g. a per-seller limit on large uploads). */
  beforeBody?: RequestHandler[];
  /** Success status; 204 answers with no body (response: null). */
  status?: 200 | 201 | 202 | 204;
  response: R;
  /** Further documented error statuses, e.g. {404: "Brand not found"}. */
  errors?: Record<number, string>;
  handler: (ctx: RouteContext<A, P, Q, B>) => Promise<R extends z.ZodType ? z.input<R> : R extends BinaryContent ? BinaryReply : void>;
}

export interface AccessGuards {
  authenticate(required: boolean): RequestHandler;
  resolveBrand(options: { param?: string; role?: BrandRole }): RequestHandler;
}

/** What a test or the 405 handler needs to know about a served route. */
export interface RouteInfo {
  method: HttpMethod;
  path: string;
  auth: AuthMode;
  brandParam?: string;
  brandRole?: BrandRole;
  hasBody: boolean;
}

export interface ApiRouterOptions {
  registry: OpenAPIRegistry;
  guards: AccessGuards;
  /** Check every answer against its schema (development and tests): a mismatch is a 500 there. */
  validateResponses: boolean;
  /** Default largest JSON body (BODY_LIMIT); a route may raise its own. */
  bodyLimit?: string;
}

export class ApiRouter {
  readonly router: Router = express.Router();
  readonly routes: RouteInfo[] = [];

  constructor(readonly options: ApiRouterOptions) {}
}

const DEFAULT_BODY_LIMIT = "1mb";

const PATH_PARAM = /:([A-Za-z_][A-Za-z0-9_]*)/g;

export function defineRoute<
  A extends AuthMode,
  R extends z.ZodType | BinaryContent | null,
  P extends ObjectSchema | undefined = undefined,
  Q extends ObjectSchema | undefined = undefined,
  B extends z.ZodType | BinaryContent | undefined = undefined,
>(api: ApiRouter, spec: RouteSpec<A, P, Q, B, R>): void {
  assertParamsDeclared(spec);
  const handlers: RequestHandler[] = [];
  if (spec.path.includes("/:")) handlers.push(skipDirectories(api));
  if (spec.rateLimit) handlers.push(spec.rateLimit);
  if (spec.beforeAuth) handlers.push(spec.beforeAuth);
  if (spec.auth !== "none") handlers.push(api.options.guards.authenticate(spec.auth !== "optional"));
  if (spec.auth === "brand") handlers.push(api.options.guards.resolveBrand({ param: spec.brandParam, role: spec.brandRole }));
  // The body is read only once the caller is known: an anonymous flood is refused before any byte is buffered.
  const body = spec.request?.body;
  if (body instanceof BinaryContent) handlers.push(express.raw({ type: body.mediaTypes, limit: body.limit }));
  else if (body !== undefined) {
    handlers.push(...(spec.beforeBody ?? []));
    handlers.push(express.json({ limit: spec.bodyLimit ?? api.options.bodyLimit ?? DEFAULT_BODY_LIMIT }));
  }
  handlers.push(runHandler(spec, api.options.validateResponses));
  api.router[spec.method](spec.path, ...handlers);
  api.routes.push({
    method: spec.method,
    path: spec.path,
    auth: spec.auth,
    brandParam: spec.brandParam,
    brandRole: spec.brandRole,
    hasBody: spec.request?.body !== undefined,
  });
  api.options.registry.registerPath(openApiRoute(spec));
}

/**
 * A path that only groups other endpoints (/tasks/monitoring/ under /tasks/monitoring/metrics/…) is
 * not a value of a route's parameter (/tasks/:id/): that route steps aside, and the path answers
 * like any other that names nothing (404, or 405 where it has methods of its own).
 */
function skipDirectories(api: ApiRouter): RequestHandler {
  return (req, _res, next) => (isDirectory(api, req.path) ? next("route") : next());
}

function isDirectory(api: ApiRouter, requestPath: string): boolean {
  const path = requestPath.endsWith("/") ? requestPath : `${requestPath}/`;
  // Only literal groups: a route's parameter in the prefix would make every value of it a "directory".
  return api.routes.some((route) => route.path.length > path.length && route.path.startsWith(path) && !path.includes(":"));
}

type AnyRouteSpec = RouteSpec<AuthMode, unknown, unknown, unknown, z.ZodType | BinaryContent | null>;

function assertParamsDeclared(spec: AnyRouteSpec): void {
  const inPath = [...spec.path.matchAll(PATH_PARAM)].map((m) => m[1]).sort();
  const schema = spec.request?.params;
  const declared = schema instanceof z.ZodObject ? Object.keys(schema.shape).sort() : [];
  if (inPath.join(",") !== declared.join(",")) {
    throw new Error(`${spec.method.toUpperCase()} ${spec.path}: path parameters [${inPath}] need a params schema with exactly those keys (has [${declared}])`);
  }
}

function runHandler<A extends AuthMode, P, Q, B, R extends z.ZodType | BinaryContent | null>(
  spec: RouteSpec<A, P, Q, B, R>,
  validateResponses: boolean,
): RequestHandler {
  return async (req, res) => {
    const ctx = {
      params: parseInput(spec.request?.params, req.params),
      query: parseInput(spec.request?.query, req.query),
      body: parseBody(spec.request?.body, req),
      principal: req.principal ?? null,
      brand: req.brandAccess ?? null,
      req,
      res,
    } as RouteContext<A, P, Q, B>;
    const output: unknown = await spec.handler(ctx);
    if (spec.response === null) {
      res.status(spec.status ?? 204).end();
      return;
    }
    if (spec.response instanceof BinaryContent) {
      sendBinary(res, spec.status ?? 200, output as BinaryReply);
      return;
    }
    if (validateResponses) assertResponseMatches(spec, output);
    sendJson(res.status(spec.status ?? 200), output);
  };
}

interface PreparedJson {
  /** The app whose JSON and ETag settings made it. */
  app: unknown;
  /** null: the app has JSON settings of its own (replacer, spaces, escape); res.json applies them. */
  body: Buffer | null;
  etag: string | undefined;
}

/**
 * A frozen answer (a constant such as the empty poll's "no task") is the same bytes every time:
 * its body and ETag are worked out once, then sent as res.json would send them (same headers,
 * same 304 for a matching If-None-Match, no body for HEAD).
 */
const preparedAnswers = new WeakMap<object, PreparedJson>();

function sendJson(res: Response, output: unknown): void {
  if (typeof output !== "object" || output === null || !Object.isFrozen(output) || res.getHeader("Content-Type") !== undefined) {
    res.json(output);
    return;
  }
  let prepared = preparedAnswers.get(output);
  if (prepared?.app !== res.app) preparedAnswers.set(output, (prepared = prepareJson(res, output)));
  if (prepared.body === null) {
    res.json(output);
    return;
  }
  res.setHeader("Content-Type", "application/json; charset=utf-8");
  if (prepared.etag !== undefined) res.setHeader("ETag", prepared.etag);
  res.send(prepared.body);
}

function prepareJson(res: Response, output: object): PreparedJson {
  const { app } = res;
  if (app.get("json escape") || app.get("json replacer") !== undefined || app.get("json spaces") !== undefined) {
    return { app, body: null, etag: undefined };
  }
  const body = Buffer.from(JSON.stringify(output), "utf8");
  const etagOf: unknown = app.get("etag fn");
  return { app, body, etag: typeof etagOf === "function" ? (etagOf(body, undefined) as string | undefined) : undefined };
}

function parseInput(schema: unknown, value: unknown): unknown {
  return schema instanceof z.ZodType ? parseOrThrow(schema, value) : {};
}

function sendBinary(res: Response, status: number, reply: BinaryReply): void {
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  // res.send answers 304 by itself when the request's If-None-Match matches the ETag.
  res.status(status).type(reply.contentType).send(reply.bytes);
}

function parseRawBody(content: BinaryContent, req: Request): RawUpload {
  if (!Buffer.isBuffer(req.body) || req.is(content.mediaTypes) === false) {
    throw new AppError(415, "UNSUPPORTED_MEDIA_TYPE", `This body must be one of: ${content.mediaTypes.join(", ")}.`);
  }
  if (req.body.length === 0) throw new AppError(400, "VALIDATION_ERROR", "The request body is empty.", { field_errors: { body: ["This field is required."] } });
  return { contentType: req.get("content-type") ?? "", bytes: req.body };
}

function parseBody(schema: unknown, req: Request): unknown {
  if (schema instanceof BinaryContent) return parseRawBody(schema, req);
  if (!(schema instanceof z.ZodType)) return undefined;
  if (carriesContent(req) && req.is("json") === false) {
    throw new AppError(415, "UNSUPPORTED_MEDIA_TYPE", "Request bodies must be JSON (Content-Type: application/json).");
  }
  // No body at all reads as {}, so required fields are reported one by one.
  const body: unknown = req.body ?? {};
  const unsafe = rejectUnsafeKeys(body);
  if (unsafe) throw unsafe;
  return parseOrThrow(schema, body);
}

/** type-is counts "Content-Length: 0" as a body; an empty POST is no body of the wrong type. */
function carriesContent(req: Request): boolean {
  return req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;
}

function assertResponseMatches(spec: AnyRouteSpec, output: unknown): void {
  const result = spec.response instanceof z.ZodType ? spec.response.safeParse(output) : null;
  if (result && !result.success) {
    throw new Error(`${spec.method.toUpperCase()} ${spec.path} answered outside its response schema: ${z.prettifyError(result.error)}`);
  }
}

/** "/api/v1/brands/:id" → "/api/v1/brands/{id}" */
export function toOpenApiPath(expressPath: string): string {
  return expressPath.replace(PATH_PARAM, "{$1}");
}

const jsonContent = (schema: z.ZodType) => ({ "application/json": { schema } });
const successContent = (response: z.ZodType | BinaryContent) => (response instanceof BinaryContent ? response.content : jsonContent(response));
const errorResponse = (description: string) => ({ description, content: jsonContent(ErrorResponseSchema) });

const BrandHeaderSchema = z.object({
  [BRAND_ID_HEADER]: z.string().optional().meta({
    description: "Brand to act for (integer id); default: the caller's personal brand.",
    example: "9",
  }),
});

function openApiRoute(spec: AnyRouteSpec): RouteConfig {
  const request: NonNullable<RouteConfig["request"]> = {};
  const params = spec.request?.params;
  const query = spec.request?.query;
  const body = spec.request?.body;
  if (params instanceof z.ZodObject) request.params = params;
  if (query instanceof z.ZodObject) request.query = query;
  if (body instanceof z.ZodType) request.body = { required: true, content: jsonContent(body) };
  if (body instanceof BinaryContent) request.body = { required: true, content: body.content };
  const headerBrand = spec.auth === "brand" && !spec.brandParam;
  if (headerBrand) request.headers = BrandHeaderSchema;

  const status = spec.status ?? (spec.response === null ? 204 : 200);
  const responses: RouteConfig["responses"] = {
    [status]: spec.response === null ? { description: "Done" } : { description: "Success", content: successContent(spec.response) },
  };
  if (params || query || body || headerBrand) responses[400] = errorResponse("Invalid input (VALIDATION_ERROR with field_errors)");
  if (spec.auth !== "none") responses[401] = errorResponse("Missing, malformed, expired or revoked token");
  if (spec.auth === "brand") responses[403] = errorResponse("Not a member of this brand, or not in the needed role");
  if (spec.rateLimit) responses[429] = errorResponse("Too many requests (see Retry-After)");
  if (body instanceof BinaryContent) {
    responses[413] = errorResponse(`Body larger than ${body.limit}`);
    responses[415] = errorResponse(`Body not one of ${body.mediaTypes.join(", ")}`);
  }
  for (const [code, description] of Object.entries(spec.errors ?? {})) responses[code] = errorResponse(description);

  return {
    method: spec.method,
    path: toOpenApiPath(spec.path),
    summary: spec.summary,
    description: spec.description,
    tags: spec.tags,
    security: spec.auth === "none" ? [] : spec.auth === "optional" ? [{ bearerAuth: [] }, {}] : [{ bearerAuth: [] }],
    request,
    responses,
  };
}

/**
 * After the last route: a path that exists with other methods answers 405 with Allow, instead of
 * falling through to the 404 of unknown routes.
 */
export function finishRouter(api: ApiRouter): Router {
  const methodsByPath = new Map<string, Set<string>>();
  for (const route of api.routes) {
    const methods = methodsByPath.get(route.path) ?? new Set<string>();
    methods.add(route.method.toUpperCase());
    if (route.method === "get") methods.add("HEAD");
    methodsByPath.set(route.path, methods);
  }
  for (const [path, methods] of methodsByPath) {
    const allow = [...methods].sort().join(", ");
    const directories = path.includes("/:") ? skipDirectories(api) : null;
    api.router.all(path, (req, res, next) => {
      if (directories && isDirectory(api, req.path)) return directories(req, res, next);
      next(new AppError(405, "METHOD_NOT_ALLOWED", `Method "${req.method}" not allowed.`, { headers: { Allow: allow } }));
    });
  }
  return api.router;
}
