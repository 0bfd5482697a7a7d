import type { RequestHandler } from "express";
import { BRAND_ID_HEADER, BrandIdHeaderSchema, type BrandRole } from "../../../shared/brands.js";
import { permissionDenied, validationError } from "../http/errors.js";
import type { BrandService } from "./service.js";

const ROLE_RANK: Record<BrandRole, number> = { member: 0, owner: 1 };

/**
 * Resolves the brand a request acts for — the path parameter `param` when given, else X-Brand-ID,
 * else the caller's personal brand — and checks membership (and `role`). Runs after authenticate.
 * A brand the caller is not in is a 403 whether or not it exists.
 */
export function resolveBrand(brands: BrandService, options: { param?: string; role?: BrandRole }): RequestHandler {
  return async (req, _res, next) => {
    const principal = req.principal;
    if (!principal) throw new Error("resolveBrand needs authenticate before it");
    const source = options.param ?? BRAND_ID_HEADER;
    const fromPath = options.param ? req.params[options.param] : undefined;
    const raw = options.param ? (typeof fromPath === "string" ? fromPath : "") : req.get(BRAND_ID_HEADER);
    let brandId: number | null = null;
    if (raw !== undefined) {
      const parsed = BrandIdHeaderSchema.safeParse(raw.trim());
      if (!parsed.success) throw validationError({ [source]: ["must be a positive integer brand id"] });
      brandId = parsed.data;
    }
    const access = await brands.accessFor(principal.userId, brandId);
    if (!access) throw permissionDenied("You do not have access to this brand.");
    if (options.role && ROLE_RANK[access.role] < ROLE_RANK[options.role]) {
      throw permissionDenied(`This action needs the ${options.role} role in the brand.`);
    }
    req.brandAccess = access;
    next();
  };
}
