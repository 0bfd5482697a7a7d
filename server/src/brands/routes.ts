import {
  AddBrandMemberBodySchema,
  BrandListResponseSchema,
  BrandMemberListResponseSchema,
  BrandMemberParamsSchema,
  BrandMemberSchema,
  BrandSchema,
  CreateBrandBodySchema,
} from "../../../shared/brands.js";
import { IdParamsSchema, PageQuerySchema } from "../../../shared/common.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import type { BrandService } from "./service.js";

const tags = ["brands"];

export function registerBrandRoutes(api: ApiRouter, brands: BrandService): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/brands",
    summary: "Brands the caller belongs to",
    tags,
    auth: "user",
    request: { query: PageQuerySchema },
    response: BrandListResponseSchema,
    handler: ({ req, principal, query }) => brands.listForUser(req, principal.userId, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/brands",
    summary: "Create a brand; the caller becomes its owner",
    tags,
    auth: "user",
    request: { body: CreateBrandBodySchema },
    status: 201,
    response: BrandSchema,
    handler: ({ principal, body }) => brands.createBrand(principal, body.name),
  });

  // Before /brands/:id, which would otherwise read "current" as an id.
  defineRoute(api, {
    method: "get",
    path: "/api/v1/brands/current",
    summary: "The brand this request acts for (X-Brand-ID, default: the personal brand)",
    tags,
    auth: "brand",
    response: BrandSchema,
    handler: ({ brand }) => brands.get(brand),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/brands/:id",
    summary: "One brand the caller belongs to",
    tags,
    auth: "brand",
    brandParam: "id",
    request: { params: IdParamsSchema },
    response: BrandSchema,
    handler: ({ brand }) => brands.get(brand),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/brands/:id/members",
    summary: "Members of a brand",
    tags,
    auth: "brand",
    brandParam: "id",
    request: { params: IdParamsSchema, query: PageQuerySchema },
    response: BrandMemberListResponseSchema,
    handler: ({ req, brand, query }) => brands.listMembers(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/brands/:id/members",
    summary: "Add a registered user to a brand (owners only)",
    tags,
    auth: "brand",
    brandParam: "id",
    brandRole: "owner",
    request: { params: IdParamsSchema, body: AddBrandMemberBodySchema },
    status: 201,
    response: BrandMemberSchema,
    errors: { 404: "No such user", 409: "Already a member (ALREADY_MEMBER)" },
    handler: ({ brand, body }) => brands.addMember(brand, body),
  });

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/brands/:id/members/:userId",
    summary: "Remove a member (owners), or leave a brand (yourself)",
    tags,
    auth: "brand",
    brandParam: "id",
    request: { params: BrandMemberParamsSchema },
    response: null,
    errors: { 404: "Not a member", 400: "Last owner, or owner of a personal brand (INVALID_OPERATION)" },
    handler: ({ principal, brand, params }) => brands.removeMember(principal, brand, params.userId),
  });
}
