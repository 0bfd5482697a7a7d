/** Small text helpers for listing copy. */

/** Whitespace collapsed, cut at a word boundary within `max` (mid-word only when a word is that long). */
export function fitTitle(title: string, max: number): string {
  const clean = title.replace(/\s+/g, " ").trim();
  if (clean.length <= max) return clean;
  const cut = clean.slice(0, max + 1);
  const lastSpace = cut.lastIndexOf(" ");
  return (lastSpace > max / 2 ? cut.slice(0, lastSpace) : clean.slice(0, max)).replace(/[\s,;:–-]+$/, "").trim();
}
