/**
 * An OpenAI-compatible chat-completions provider (OpenAI, Azure OpenAI, Mistral, a local Ollama or
 * vLLM…): POST {ENHANCER_URL}/chat/completions, asking for a JSON object {title, description,
 * keywords}. What the model answers is checked; the title is fitted to the marketplace's limit
 * whatever the model wrote.
 */
import { z } from "zod";
import type { EnhancerConfig } from "../config.js";
import type { Enhancer, EnhancementError, EnhancementInput, EnhancementOutcome, EnhancementUsage } from "./enhancer.js";
import { fitTitle } from "./text.js";

const CopySchema = z.object({
  title: z.string().trim().min(1),
  description: z.string().trim().min(1),
  keywords: z.array(z.string().trim().min(1)).max(30).default([]),
});

/** The answer's `usage` (OpenAI's names; most compatible servers send it, some leave it out). */
const UsageSchema = z.object({
  prompt_tokens: z.number().int().min(0).catch(0),
  completion_tokens: z.number().int().min(0).catch(0),
});

const SYSTEM_PROMPT =
  "You write marketplace listings for second-hand and retail sellers. Answer with one JSON object " +
  '{"title": string, "description": string, "keywords": string[]} and nothing else. Keep the facts ' +
  "given (brand, size, condition, colour, attributes); never invent any. Write in the language of the product's title. " +
  "The title must fit the marketplace's limit; the description is plain text; at most 10 keywords.";

function truncate(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

function failure(kind: EnhancementError["kind"], message: string, provider_response: Record<string, unknown> = {}, retry_after_ms: number | null = null): EnhancementOutcome {
  return { ok: false, error: { kind, message, provider_response, retry_after_ms } };
}

type ProviderConfig = Omit<EnhancerConfig, "pricePer1k"> & { url: string; pricePer1k?: EnhancerConfig["pricePer1k"] };

export class ChatCompletionsEnhancer implements Enhancer {
  readonly name: string;
  readonly pricing: string;
  private readonly price: EnhancerConfig["pricePer1k"];

  constructor(private readonly config: ProviderConfig) {
    this.name = `chat-completions:${config.model}`;
    this.price = config.pricePer1k ?? { prompt: 0, completion: 0 };
    this.pricing =
      this.price.prompt > 0 || this.price.completion > 0
        ? `USD ${this.price.prompt} per 1k prompt tokens, ${this.price.completion} per 1k completion tokens (ENHANCER_PRICE_*_PER_1K)`
        : "tokens counted; no price configured (ENHANCER_PRICE_PROMPT_PER_1K / ENHANCER_PRICE_COMPLETION_PER_1K), so cost 0";
  }

  /** The tokens the answer says it used, priced; an answer without `usage` counts as none. */
  usageOf(body: unknown): EnhancementUsage {
    const parsed = UsageSchema.safeParse((body as { usage?: unknown } | null)?.usage);
    if (!parsed.success) return { prompt_tokens: 0, completion_tokens: 0, cost_usd: 0 };
    const { prompt_tokens, completion_tokens } = parsed.data;
    const cost = (prompt_tokens * this.price.prompt + completion_tokens * this.price.completion) / 1000;
    return { prompt_tokens, completion_tokens, cost_usd: Math.round(cost * 1e8) / 1e8 };
  }

  async enhance(input: EnhancementInput): Promise<EnhancementOutcome> {
    let res: Response;
    try {
      res = await fetch(`${this.config.url}/chat/completions`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...(this.config.apiKey ? { Authorization: `Bearer ${this.config.apiKey}` } : {}) },
        body: JSON.stringify(this.requestBody(input)),
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (err) {
      const e = err as { name?: string; cause?: { code?: string } };
      return failure("transient", `The enhancement provider could not be reached (${e.name === "TimeoutError" ? "timed out" : (e.cause?.code ?? "network error")})`);
    }
    const text = await res.text();
    if (!res.ok) {
      const transient = res.status === 408 || res.status === 429 || res.status >= 500;
      const retryAfter = res.headers.get("retry-after");
      return failure(transient ? "transient" : "final", `The enhancement provider answered ${res.status}`, { status: res.status, body: truncate(text) }, retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : null);
    }
    const body = parseJson(text);
    const copy = copyOf(body);
    if (!copy) return failure("transient", "The enhancement provider's answer is not the JSON object asked for", { body: truncate(text) });
    return {
      ok: true,
      result: {
        success: true,
        enhanced_title: fitTitle(copy.title, input.marketplace.titleMaxLength),
        enhanced_description: copy.description,
        keywords: [...new Set(copy.keywords.map((k) => k.toLowerCase()))].slice(0, 10),
        provider: this.name,
      },
      usage: this.usageOf(body),
    };
  }

  private requestBody(input: EnhancementInput): Record<string, unknown> {
    const { product, marketplace } = input;
    const facts = {
      marketplace: marketplace.name,
      title_max_length: marketplace.titleMaxLength,
      title: product.title,
      description: product.description,
      brand: product.brand_name,
      size: product.size,
      condition: product.condition,
      category: product.category,
      color: product.color,
      price: `${product.price} ${product.currency}`,
      attributes: Object.fromEntries(Object.entries(product.attributes).filter(([k]) => !/^(vinted_|mercadolibre_)/.test(k))),
    };
    return {
      model: this.config.model,
      temperature: 0.3,
      response_format: { type: "json_object" },
      messages: [
        { role: "system", content: SYSTEM_PROMPT },
        { role: "user", content: JSON.stringify(facts) },
      ],
    };
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function copyOf(body: unknown): z.infer<typeof CopySchema> | null {
  try {
    const content = (body as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message?.content;
    if (typeof content !== "string") return null;
    // Some models wrap JSON in a code fence even when asked not to.
    const json = content.replace(/^\s*```(?:json)?\s*|\s*```\s*$/g, "");
    const parsed = CopySchema.safeParse(JSON.parse(json));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
