/**
 * `ai_content_generation`, `content_optimization`, `meta_tags_generation`: listing copy for the
 * brand's catalog products through the publication pipeline's enhancer (built-in, or the
 * OpenAI-compatible provider). Generation and meta tags only propose; optimisation proposes, and
 * applies through the catalog's normal update path only when asked (`apply: true`).
 */
import { z } from "zod";
import type { BrandAccess } from "../../http/context.js";
import type { Enhancer, EnhancementResult, EnhancementUsage } from "../../enhancement/enhancer.js";
import { fitTitle } from "../../enhancement/text.js";
import type { ProductDoc, ProductModels } from "../../products/model.js";
import type { ProductService } from "../../products/service.js";
import { PermanentTaskError, type TaskHandler } from "../executor/registry.js";
import { scoreListing } from "./seo/audit.js";
import { catalogContent } from "./seo/content-audit.js";

const MAX_PRODUCTS = 2_000;
const CHECKPOINT_EVERY = 25;

export const ContentParamsSchema = z.object({
  /** The catalog products to work on; all the brand's (up to 2,000) when left out. */
  product_ids: z.array(z.number().int().positive()).min(1).max(MAX_PRODUCTS).optional(),
  /** spec/task-core-api.md's example names them page_ids: the same products. */
  page_ids: z.array(z.number().int().positive()).min(1).max(MAX_PRODUCTS).optional(),
  /** Words the copy should carry; coverage is reported per product. */
  target_keywords: z.array(z.string().trim().min(1).max(100)).max(50).default([]),
  /** The marketplace whose title limit applies. */
  title_max_length: z.number().int().min(20).max(200).default(100),
  /** content_optimization only: write the proposals to the products. */
  apply: z.boolean().default(false),
  optimization_level: z.enum(["basic", "advanced"]).default("basic"),
  include_meta_tags: z.boolean().default(false),
  include_content_suggestions: z.boolean().default(true),
});
type ContentParams = z.infer<typeof ContentParamsSchema>;

export type ContentMode = "ai_content_generation" | "content_optimization" | "meta_tags_generation";

export interface ContentDeps {
  enhancer: Enhancer;
  products: ProductModels;
  catalog: Pick<ProductService, "update">;
}

interface ContentState {
  done: number;
  items: Record<string, unknown>[];
  failures: Array<{ product_id: number; error: string }>;
  keywords: string[];
  applied: number;
  /** What the enhancer's calls used and cost so far (kept in checkpoints: a resumed run adds to it). */
  usage: EnhancementUsage;
}

function addUsage(total: EnhancementUsage, one: EnhancementUsage): EnhancementUsage {
  return {
    prompt_tokens: total.prompt_tokens + one.prompt_tokens,
    completion_tokens: total.completion_tokens + one.completion_tokens,
    cost_usd: Math.round((total.cost_usd + one.cost_usd) * 1e8) / 1e8,
  };
}

const META_TITLE_MAX = 60;
const META_DESCRIPTION_MAX = 155;

export function metaTagsOf(result: EnhancementResult): Record<string, string> {
  const title = fitTitle(result.enhanced_title, META_TITLE_MAX);
  const flat = result.enhanced_description.replace(/[•\n]+/g, " ").replace(/\s+/g, " ").trim();
  const description = flat.length <= META_DESCRIPTION_MAX ? flat : `${fitTitle(flat, META_DESCRIPTION_MAX - 1)}…`;
  return { title, description, keywords: result.keywords.join(", "), "og:title": title, "og:description": description };
}

function coverage(targets: string[], text: string): Record<string, boolean> {
  const lower = text.toLowerCase();
  return Object.fromEntries(targets.map((t) => [t, lower.includes(t.toLowerCase())]));
}

async function productsToDo(deps: ContentDeps, brand: number, params: ContentParams): Promise<ProductDoc[]> {
  const ids = params.product_ids ?? params.page_ids;
  const filter = ids ? { brand, id: { $in: ids } } : { brand };
  const found = await deps.products.Product.find(filter).sort({ id: 1 }).limit(MAX_PRODUCTS).lean<ProductDoc[]>();
  const missing = ids?.filter((id) => !found.some((p) => p.id === id)) ?? [];
  if (missing.length) throw new PermanentTaskError(`No such product in this brand: ${missing.slice(0, 20).join(", ")}`, { missing_product_ids: missing });
  return found;
}

function itemFor(mode: ContentMode, product: ProductDoc, result: EnhancementResult, params: ContentParams): Record<string, unknown> {
  const base = { product_id: product.id, provider: result.provider, keywords: result.keywords };
  if (mode === "meta_tags_generation") return { ...base, meta_tags: metaTagsOf(result) };
  const title = fitTitle(result.enhanced_title, params.title_max_length);
  if (mode === "ai_content_generation") return { ...base, title, description: result.enhanced_description };
  const before = scoreListing(catalogContent(product));
  const after = scoreListing(catalogContent({ ...product, title, description: result.enhanced_description }));
  return {
    ...base,
    current: { title: product.title, description: product.description },
    proposed: { title, description: result.enhanced_description },
    score_before: before.score,
    score_after: after.score,
    remaining_issues: after.issues,
    target_keywords: coverage(params.target_keywords, `${title} ${result.enhanced_description}`),
    ...(params.include_meta_tags ? { meta_tags: metaTagsOf(result) } : {}),
  };
}

function recommendationsOf(mode: ContentMode, state: ContentState, params: ContentParams): string[] {
  const out: string[] = [];
  if (mode === "content_optimization") {
    const improved = state.items.filter((i) => (i.score_after as number) > (i.score_before as number)).length;
    if (improved) out.push(`${improved} product(s) score higher with the proposed copy${params.apply ? " (applied)" : ": run again with apply: true to write it"}`);
    const photos = state.items.filter((i) => (i.remaining_issues as string[]).some((x) => x === "no_photos" || x === "few_photos")).length;
    if (photos && params.include_content_suggestions) out.push(`Add photos to ${photos} product(s): copy alone cannot fix that`);
    for (const t of params.target_keywords) {
      const lacking = state.items.filter((i) => !(i.target_keywords as Record<string, boolean>)[t]).length;
      if (lacking) out.push(`"${t}" is in no proposed copy of ${lacking} product(s): add it where it is true`);
    }
  }
  if (state.failures.length) out.push(`${state.failures.length} product(s) got no copy from the enhancer: see failures`);
  return out;
}

export function contentHandler(mode: ContentMode, deps: ContentDeps): TaskHandler {
  return async (ctx) => {
    const params = ContentParamsSchema.parse(ctx.task.context_data ?? {});
    const apply = mode === "content_optimization" && params.apply;
    const products = await productsToDo(deps, ctx.task.brand, params);
    const resumed = ctx.resumeFrom as Partial<ContentState> | null;
    const state: ContentState = { done: 0, items: [], failures: [], keywords: [], applied: 0, ...resumed, usage: resumed?.usage ?? { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 } };
    // The task's cost is all its copy cost, the interrupted runs' included.
    ctx.reportCost(state.usage.cost_usd);
    const brand: BrandAccess = { brandId: ctx.task.brand, role: "member" };
    for (let i = state.done; i < products.length; i++) {
      ctx.throwIfStopped();
      const product = products[i];
      const outcome = await deps.enhancer.enhance({ product, marketplace: { code: "catalog", name: "Catalog", titleMaxLength: params.title_max_length } });
      if (outcome.ok) {
        state.usage = addUsage(state.usage, outcome.usage);
        ctx.reportCost(outcome.usage.cost_usd);
      }
      if (!outcome.ok) {
        // A passing provider outage retries the task (from the last checkpoint); a refusal is this product's failure.
        if (outcome.error.kind === "transient") throw new Error(`The enhancer is unavailable: ${outcome.error.message}`);
        state.failures.push({ product_id: product.id, error: outcome.error.message });
      } else {
        const item = itemFor(mode, product, outcome.result, params);
        if (apply && (item.score_after as number) >= (item.score_before as number)) {
          const proposed = item.proposed as { title: string; description: string };
          await deps.catalog.update(brand, product.id, { title: proposed.title, description: proposed.description });
          item.applied = true;
          state.applied++;
        }
        state.items.push(item);
        for (const k of outcome.result.keywords) if (!state.keywords.includes(k)) state.keywords.push(k);
      }
      state.done = i + 1;
      const pct = (state.done / products.length) * 100;
      if (state.done % CHECKPOINT_EVERY === 0) await ctx.checkpoint({ ...state }, pct);
      else await ctx.progress(pct, `${state.done}/${products.length} products`);
    }
    const recommendations = recommendationsOf(mode, state, params);
    return {
      products_processed: state.done,
      provider: deps.enhancer.name,
      usage: { ...state.usage, pricing: deps.enhancer.pricing },
      keywords_processed: state.keywords.length,
      insights_generated: state.items.length,
      ...(mode === "content_optimization" ? { applied: state.applied } : {}),
      items: state.items,
      failures: state.failures,
      recommendations,
    };
  };
}
