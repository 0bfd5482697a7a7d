/**
 * A listing's content quality, 0–100, in four equal parts: title (long enough to carry the words
 * buyers search, within Vinted's 100 characters), description, photos, and the attributes search
 * filters on (brand, size, condition, price). Each shortfall is named so the seller knows what to fix.
 */
import type { ListingContent } from "./listings.js";

export const AUDIT_ISSUES = [
  "title_too_short",
  "title_too_long",
  "no_description",
  "short_description",
  "no_photos",
  "few_photos",
  "missing_brand",
  "missing_size",
  "missing_condition",
  "missing_price",
] as const;
export type AuditIssue = (typeof AUDIT_ISSUES)[number];

export interface ListingScore {
  score: number;
  issues: AuditIssue[];
}

function titlePoints(title: string, issues: AuditIssue[]): number {
  const n = title.trim().length;
  if (n > 100) return issues.push("title_too_long"), 15;
  if (n >= 30) return 25;
  issues.push("title_too_short");
  return n >= 15 ? 15 : 5;
}

function descriptionPoints(description: string | null, issues: AuditIssue[]): number {
  const n = description?.trim().length ?? 0;
  if (n >= 150) return 25;
  if (n === 0) return issues.push("no_description"), 0;
  issues.push("short_description");
  return n >= 50 ? 15 : 5;
}

function photoPoints(photos: number, issues: AuditIssue[]): number {
  if (photos >= 5) return 25;
  if (photos === 0) return issues.push("no_photos"), 0;
  issues.push("few_photos");
  return photos >= 3 ? 18 : 8;
}

function attributePoints(listing: ListingContent, issues: AuditIssue[]): number {
  const checks: Array<[unknown, AuditIssue]> = [
    [listing.brand, "missing_brand"],
    [listing.size, "missing_size"],
    [listing.condition, "missing_condition"],
    [listing.price, "missing_price"],
  ];
  let points = 0;
  for (const [value, issue] of checks) {
    if (value === null || value === undefined || value === "") issues.push(issue);
    else points += 6.25;
  }
  return points;
}

export function scoreListing(listing: ListingContent): ListingScore {
  const issues: AuditIssue[] = [];
  const score = titlePoints(listing.title, issues) + descriptionPoints(listing.description, issues) + photoPoints(listing.photos, issues) + attributePoints(listing, issues);
  return { score: Math.round(score), issues };
}

export type ScoreBand = "excellent" | "good" | "fair" | "poor";

export function bandOf(score: number): ScoreBand {
  return score >= 80 ? "excellent" : score >= 60 ? "good" : score >= 40 ? "fair" : "poor";
}

/** What a run adds up as it goes (checkpointed as is). */
export interface AuditTotals {
  audited: number;
  score_sum: number;
  bands: Record<ScoreBand, number>;
  issues: Record<AuditIssue, number>;
  /** The lowest-scoring listings, worst first, at most WORST_KEPT. */
  worst: Array<{ source: string; id: number; title: string; score: number; issues: AuditIssue[] }>;
}

export const WORST_KEPT = 20;

export function emptyTotals(): AuditTotals {
  return {
    audited: 0,
    score_sum: 0,
    bands: { excellent: 0, good: 0, fair: 0, poor: 0 },
    issues: Object.fromEntries(AUDIT_ISSUES.map((i) => [i, 0])) as Record<AuditIssue, number>,
    worst: [],
  };
}

export function addToTotals(totals: AuditTotals, listing: ListingContent, result: ListingScore): void {
  totals.audited++;
  totals.score_sum += result.score;
  totals.bands[bandOf(result.score)]++;
  for (const issue of result.issues) totals.issues[issue]++;
  const worst = totals.worst;
  if (worst.length < WORST_KEPT || result.score < worst[worst.length - 1].score) {
    worst.push({ source: listing.source, id: listing.id, title: listing.title, score: result.score, issues: result.issues });
    worst.sort((a, b) => a.score - b.score || a.id - b.id);
    if (worst.length > WORST_KEPT) worst.pop();
  }
}

const ADVICE: Record<AuditIssue, string> = {
  title_too_short: "lengthen titles under 30 characters with brand, item type, colour and size",
  title_too_long: "shorten titles over 100 characters (Vinted cuts them)",
  no_description: "write a description (material, measurements, defects)",
  short_description: "expand descriptions under 150 characters",
  no_photos: "add photos",
  few_photos: "add photos up to at least 5 (front, back, label, details, worn)",
  missing_brand: "set the brand",
  missing_size: "set the size",
  missing_condition: "set the condition",
  missing_price: "set a price",
};

/** One recommendation per issue that concerns listings, the most widespread first. */
export function auditRecommendations(totals: AuditTotals): string[] {
  return AUDIT_ISSUES.filter((i) => totals.issues[i] > 0)
    .sort((a, b) => totals.issues[b] - totals.issues[a])
    .map((i) => `${ADVICE[i][0].toUpperCase()}${ADVICE[i].slice(1)}: ${totals.issues[i]} listing${totals.issues[i] === 1 ? "" : "s"}`);
}
