/**
 * The built-in enhancer: no network, deterministic. Cleans the title (no emoji or shouting, the
 * brand in front when it fits, within the marketplace's limit), builds a description from the
 * product's own description and attributes, and picks keywords.
 */
import type { ProductCondition } from "../../../shared/products.js";
import { NO_USAGE, type Enhancer, type EnhancementInput, type EnhancementOutcome } from "./enhancer.js";
import { fitTitle } from "./text.js";

const CONDITION_LABELS: Record<ProductCondition, string> = {
  new_with_tags: "New with tags",
  new_without_tags: "New without tags",
  very_good: "Very good",
  good: "Good",
  satisfactory: "Satisfactory",
};

/** Attributes that are ids for a marketplace, not words for a buyer. */
const INTERNAL_ATTRIBUTE = /^(vinted_|mercadolibre_|quantity$)/;

const STOPWORDS = new Set(
  "the and for with from new used very good size color colour taille couleur avec pour les des une sur dans neuf état etat bon très tres con para los las una del por talla nuevo muy bueno".split(" "),
);

/** Emoji, pictographs and decoration symbols; letters of every script stay. */
const DECORATION = /[\p{Extended_Pictographic}\u{FE0F}\u{200D}*#~^|<>_=+]+/gu;

export function cleanTitle(title: string): string {
  let t = title.replace(DECORATION, " ").replace(/([!?.,])\1+/g, "$1").replace(/\s+/g, " ").trim();
  const letters = t.replace(/[^\p{L}]/gu, "");
  const upper = letters.replace(/[^\p{Lu}]/gu, "");
  // A shouted title (mostly capitals) reads as spam on every marketplace.
  if (letters.length >= 6 && upper.length / letters.length > 0.7) {
    t = t.toLowerCase().replace(/(^|\s)(\p{L})/gu, (_m, space: string, letter: string) => space + letter.toUpperCase());
  }
  return t.replace(/^[\s,;:.!-]+|[\s,;:-]+$/g, "");
}

function titleFor(input: EnhancementInput): string {
  const max = input.marketplace.titleMaxLength;
  let title = cleanTitle(input.product.title);
  const brand = input.product.brand_name?.trim();
  if (brand && !title.toLowerCase().includes(brand.toLowerCase()) && `${brand} ${title}`.length <= max) title = `${brand} ${title}`;
  return fitTitle(title, max);
}

const humanKey = (key: string) => key.replace(/[_-]+/g, " ").replace(/^\p{L}/u, (c) => c.toUpperCase());

function attributeValue(value: unknown): string | null {
  if (Array.isArray(value)) return value.length > 0 ? value.join(", ") : null;
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "string" || typeof value === "number") return String(value).trim() || null;
  return null;
}

function descriptionFor(input: EnhancementInput): string {
  const p = input.product;
  const lines: string[] = [];
  if (p.brand_name) lines.push(`Brand: ${p.brand_name}`);
  if (p.size) lines.push(`Size: ${p.size}`);
  if (p.condition) lines.push(`Condition: ${CONDITION_LABELS[p.condition]}`);
  if (p.color) lines.push(`Color: ${p.color}`);
  if (p.category) lines.push(`Category: ${p.category}`);
  for (const [key, value] of Object.entries(p.attributes)) {
    if (INTERNAL_ATTRIBUTE.test(key)) continue;
    const text = attributeValue(value);
    if (text) lines.push(`${humanKey(key)}: ${text}`);
  }
  const own = p.description.trim();
  return [own, lines.map((l) => `• ${l}`).join("\n")].filter(Boolean).join("\n\n");
}

export function keywordsFor(input: EnhancementInput, max = 10): string[] {
  const p = input.product;
  const sources = [p.brand_name, p.category, cleanTitle(p.title), p.color];
  const words: string[] = [];
  for (const source of sources) {
    for (const word of (source ?? "").toLowerCase().split(/[^\p{L}\p{N}'’]+/u)) {
      const w = word.replace(/^['’]+|['’]+$/g, "");
      if (w.length >= 3 && !STOPWORDS.has(w) && !/^\d+$/.test(w) && !words.includes(w)) words.push(w);
    }
  }
  return words.slice(0, max);
}

export class BuiltInEnhancer implements Enhancer {
  readonly name = "built-in";
  readonly pricing = "built-in enhancer: no paid call, no cost";

  async enhance(input: EnhancementInput): Promise<EnhancementOutcome> {
    return {
      ok: true,
      result: { success: true, enhanced_title: titleFor(input), enhanced_description: descriptionFor(input), keywords: keywordsFor(input), provider: this.name },
      usage: NO_USAGE,
    };
  }
}
