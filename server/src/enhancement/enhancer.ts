/**
 * Enhancement: listing copy made for one marketplace from a product (title within its limit,
 * description, keywords). The result is stored on the publication (enhancement_result); the
 * product itself is never overwritten.
 */
import type { PublishableProduct } from "../products/index.js";

export interface EnhancementInput {
  product: Pick<PublishableProduct, "title" | "description" | "brand_name" | "size" | "condition" | "category" | "color" | "attributes" | "price" | "currency">;
  marketplace: { code: string; name: string; titleMaxLength: number };
}

/** enhancement_result as stored on the publication task. */
export interface EnhancementResult {
  success: true;
  enhanced_title: string;
  enhanced_description: string;
  keywords: string[];
  /** Which enhancer made it ("built-in", or the model's name). */
  provider: string;
}

export interface EnhancementError {
  /** transient: worth retrying (network, 5xx, 429, an unreadable answer); final: retrying cannot help (bad key, refused request). */
  kind: "transient" | "final";
  message: string;
  /** The provider's own answer, cut, when there was one. */
  provider_response: Record<string, unknown>;
  retry_after_ms: number | null;
}

/**
 * What one enhancement cost: the provider's token counts (its answer's `usage`) priced at the
 * configured per-1k rates. The built-in enhancer makes no paid call: zero tokens, zero cost.
 */
export interface EnhancementUsage {
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd: number;
}

export const NO_USAGE: EnhancementUsage = { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };

export type EnhancementOutcome = { ok: true; result: EnhancementResult; usage: EnhancementUsage } | { ok: false; error: EnhancementError };

export interface Enhancer {
  readonly name: string;
  /** How its cost is counted, in words (shown with the usage in task results). */
  readonly pricing: string;
  enhance(input: EnhancementInput): Promise<EnhancementOutcome>;
}
