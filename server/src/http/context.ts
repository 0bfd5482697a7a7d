import type { BrandRole } from "../../../shared/brands.js";

/** Who is calling: set by the authenticate guard from a verified access token. */
export interface Principal {
  userId: number;
  /** The session (refresh-token family) the access token belongs to; logout revokes it. */
  sessionId: string;
}

/** Which brand the request acts for, and as what: set by the brand guard after a membership check. */
export interface BrandAccess {
  brandId: number;
  role: BrandRole;
}

declare module "express-serve-static-core" {
  interface Request {
    principal?: Principal;
    brandAccess?: BrandAccess;
  }
}
