import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../server/src/config.js";
import { BuiltInEnhancer, ChatCompletionsEnhancer, createEnhancer, type EnhancementInput } from "../../server/src/enhancement/index.js";
import { startFakeChatCompletions, type FakeChatCompletions } from "../fixtures/fake-chat-completions/index.js";

const ML = { code: "mercadolibre", name: "MercadoLibre", titleMaxLength: 60 };

const input = (product: Partial<EnhancementInput["product"]> = {}, marketplace = ML): EnhancementInput => ({
  product: {
    title: "🔥🔥 SUPER ROBE ZARA ROUGE TAILLE M IDEAL SOIREE MARIAGE ETE PLAGE VACANCES !!!",
    description: "Portée deux fois.",
    brand_name: "Zara",
    size: "M",
    condition: "very_good",
    category: "Robes",
    color: "Rouge",
    attributes: { material: "Viscose", lined: true, vinted_catalog_id: 10 },
    price: 19.9,
    currency: "EUR",
    ...product,
  },
  marketplace,
});

describe("built-in enhancer (no network)", () => {
  const enhancer = new BuiltInEnhancer();

  it("cleans the title — no emoji, no shouting, no repeated punctuation — within the marketplace's limit", async () => {
    const outcome = await enhancer.enhance(input());
    if (!outcome.ok) throw new Error("failed");
    const { enhanced_title } = outcome.result;
    expect(enhanced_title.length).toBeLessThanOrEqual(60);
    expect(enhanced_title).not.toMatch(/\p{Extended_Pictographic}|!!/u);
    expect(enhanced_title.startsWith("Super Robe Zara Rouge Taille M")).toBe(true);
    expect(enhanced_title.endsWith(" ")).toBe(false);
    const vinted = await enhancer.enhance(input({}, { code: "vinted", name: "Vinted", titleMaxLength: 100 }));
    expect(vinted.ok && vinted.result.enhanced_title.length).toBeGreaterThan(60);
  });

  it("puts the brand in front when the title lacks it and it fits", async () => {
    const outcome = await enhancer.enhance(input({ title: "Robe rouge taille M", brand_name: "Zara" }));
    expect(outcome.ok && outcome.result.enhanced_title).toBe("Zara Robe rouge taille M");
  });

  it("builds the description from the product's own text and its attributes (not the marketplaces' ids)", async () => {
    const outcome = await enhancer.enhance(input());
    if (!outcome.ok) throw new Error("failed");
    const d = outcome.result.enhanced_description;
    expect(d.startsWith("Portée deux fois.")).toBe(true);
    for (const line of ["Brand: Zara", "Size: M", "Condition: Very good", "Color: Rouge", "Material: Viscose", "Lined: Yes"]) expect(d).toContain(line);
    expect(d).not.toContain("vinted");
  });

  it("picks keywords: distinct, meaningful, at most 10", async () => {
    const outcome = await enhancer.enhance(input());
    if (!outcome.ok) throw new Error("failed");
    expect(outcome.result.keywords).toEqual(expect.arrayContaining(["zara", "robes", "robe", "rouge"]));
    expect(new Set(outcome.result.keywords).size).toBe(outcome.result.keywords.length);
    expect(outcome.result.keywords.length).toBeLessThanOrEqual(10);
    expect(outcome.result.keywords).not.toContain("taille");
    expect(outcome.result).toMatchObject({ success: true, provider: "built-in" });
  });

  it("is what createEnhancer gives without ENHANCER_URL", () => {
    const config = loadConfig({ JWT_SECRET: "s".repeat(32) });
    if (!config.ok) throw new Error("config");
    expect(createEnhancer(config.config.enhancer)).toBeInstanceOf(BuiltInEnhancer);
  });
});

describe("OpenAI-compatible chat-completions provider (against a local fake)", () => {
  let fake: FakeChatCompletions;
  let enhancer: ChatCompletionsEnhancer;

  beforeAll(async () => {
    fake = await startFakeChatCompletions("sk-test");
    const config = loadConfig({ JWT_SECRET: "s".repeat(32), ENHANCER_URL: fake.url, ENHANCER_API_KEY: "sk-test", ENHANCER_MODEL: "tiny-model", ENHANCER_TIMEOUT_MS: "2000" });
    if (!config.ok) throw new Error(config.problems.join());
    const made = createEnhancer(config.config.enhancer);
    if (!(made instanceof ChatCompletionsEnhancer)) throw new Error("expected the chat-completions provider");
    enhancer = made;
  });
  afterAll(() => fake?.close());

  it("asks the model for JSON copy with the product's facts, and fits the title it gets", async () => {
    const longTitle = "Robe Zara rouge en viscose doublée, taille M, parfaite pour les soirées d'été et les mariages";
    fake.reply({ kind: "content", content: JSON.stringify({ title: longTitle, description: "Une robe rouge élégante.", keywords: ["Robe", "zara", "robe", "rouge"] }) });
    const outcome = await enhancer.enhance(input());
    expect(outcome).toEqual({
      ok: true,
      result: { success: true, enhanced_title: expect.any(String), enhanced_description: "Une robe rouge élégante.", keywords: ["robe", "zara", "rouge"], provider: "chat-completions:tiny-model" },
      // The answer's token counts; no price configured here, so no cost.
      usage: { prompt_tokens: 10, completion_tokens: 10, cost_usd: 0 },
    });
    if (!outcome.ok) return;
    expect(outcome.result.enhanced_title.length).toBeLessThanOrEqual(60);
    expect(longTitle.startsWith(outcome.result.enhanced_title)).toBe(true);
    const sent = fake.requests.at(-1)!;
    expect(sent.authorization).toBe("Bearer sk-test");
    expect(sent.body).toMatchObject({ model: "tiny-model", response_format: { type: "json_object" } });
    const facts = JSON.parse(sent.body.messages!.find((m) => m.role === "user")!.content);
    expect(facts).toMatchObject({ marketplace: "MercadoLibre", title_max_length: 60, brand: "Zara", size: "M", attributes: { material: "Viscose" } });
    expect(facts.attributes).not.toHaveProperty("vinted_catalog_id");
  });

  it("accepts JSON wrapped in a code fence", async () => {
    fake.reply({ kind: "content", content: '```json\n{"title":"Robe Zara","description":"Jolie robe","keywords":["robe"]}\n```' });
    const outcome = await enhancer.enhance(input());
    expect(outcome.ok && outcome.result.enhanced_title).toBe("Robe Zara");
  });

  it("classifies failures: 5xx and 429 transient (Retry-After kept), a refused key final, an unreadable answer transient", async () => {
    fake.reply({ kind: "error", status: 503 });
    expect(await enhancer.enhance(input())).toMatchObject({ ok: false, error: { kind: "transient", provider_response: { status: 503 } } });
    fake.reply({ kind: "error", status: 429, retryAfterSeconds: 3 });
    expect(await enhancer.enhance(input())).toMatchObject({ ok: false, error: { kind: "transient", retry_after_ms: 3000 } });
    fake.reply({ kind: "error", status: 400, body: { error: { message: "model not found" } } });
    expect(await enhancer.enhance(input())).toMatchObject({ ok: false, error: { kind: "final", provider_response: { status: 400, body: expect.stringContaining("model not found") } } });
    fake.reply({ kind: "content", content: "Sure! Here is a nice title: Robe Zara" });
    expect(await enhancer.enhance(input())).toMatchObject({ ok: false, error: { kind: "transient" } });

    const wrongKey = new ChatCompletionsEnhancer({ url: fake.url, apiKey: "sk-wrong", model: "m", timeoutMs: 2000 });
    expect(await wrongKey.enhance(input())).toMatchObject({ ok: false, error: { kind: "final", provider_response: { status: 401 } } });
    const unreachable = new ChatCompletionsEnhancer({ url: "http://127.0.0.1:9/v1", apiKey: "k", model: "m", timeoutMs: 2000 });
    expect(await unreachable.enhance(input())).toMatchObject({ ok: false, error: { kind: "transient", message: expect.stringContaining("could not be reached") } });
  });
});
