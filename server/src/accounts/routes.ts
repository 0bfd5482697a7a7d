import {
  AccountListQuerySchema,
  AccountListResponseSchema,
  AccountParamsSchema,
  AccountSchema,
  CreateAccountBodySchema,
  TopUpBodySchema,
  UpdateAccountBodySchema,
} from "../../../shared/accounts.js";
import { defineRoute, type ApiRouter } from "../http/define-route.js";
import { toAccountView, type AccountService } from "./service.js";

const tags = ["accounts"];
const notFound = { 404: "Account not found (or another brand's)" };

/** The brand's selling accounts. */
export function registerAccountRoutes(api: ApiRouter, accounts: AccountService): void {
  defineRoute(api, {
    method: "get",
    path: "/api/v1/accounts/",
    summary: "List the brand's selling accounts",
    tags,
    auth: "brand",
    request: { query: AccountListQuerySchema },
    response: AccountListResponseSchema,
    handler: ({ req, brand, query }) => accounts.list(req, brand, query),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/accounts/",
    summary: "Create a selling account (account_id generated when not given)",
    tags,
    auth: "brand",
    request: { body: CreateAccountBodySchema },
    status: 201,
    response: AccountSchema,
    errors: { 409: "CONFLICT: account_id already exists" },
    handler: ({ principal, brand, body }) => accounts.create(principal, brand, body),
  });

  defineRoute(api, {
    method: "get",
    path: "/api/v1/accounts/:account_id/",
    summary: "One selling account",
    tags,
    auth: "brand",
    request: { params: AccountParamsSchema },
    response: AccountSchema,
    errors: notFound,
    handler: async ({ brand, params }) => toAccountView(await accounts.find(brand, params.account_id)),
  });

  for (const method of ["put", "patch"] as const) {
    defineRoute(api, {
      method,
      path: "/api/v1/accounts/:account_id/",
      summary: "Change name, status, balance, billing type or marketplace connection",
      tags,
      auth: "brand",
      request: { params: AccountParamsSchema, body: UpdateAccountBodySchema },
      response: AccountSchema,
      errors: notFound,
      handler: ({ brand, params, body }) => accounts.update(brand, params.account_id, body),
    });
  }

  defineRoute(api, {
    method: "delete",
    path: "/api/v1/accounts/:account_id/",
    summary: "Delete a selling account without active batches",
    tags,
    auth: "brand",
    request: { params: AccountParamsSchema },
    status: 204,
    response: null,
    errors: { ...notFound, 409: "CONFLICT: the account has active batches" },
    handler: ({ brand, params }) => accounts.remove(brand, params.account_id),
  });

  defineRoute(api, {
    method: "post",
    path: "/api/v1/accounts/:account_id/top-up/",
    summary: "Add credits to the balance; jobs held for lack of credits resume",
    tags,
    auth: "brand",
    request: { params: AccountParamsSchema, body: TopUpBodySchema },
    response: AccountSchema,
    errors: notFound,
    handler: ({ brand, params, body }) => accounts.topUp(brand, params.account_id, body.amount),
  });
}
