/** robots.txt as a polite crawler reads it: the group for our agent (else `*`), Allow/Disallow by longest match, Crawl-delay. */
export interface RobotsRules {
  allow: string[];
  disallow: string[];
  crawlDelayMs: number | null;
  sitemaps: string[];
}

export function parseRobots(text: string, agent = "markethub"): RobotsRules {
  const groups: Array<{ agents: string[]; allow: string[]; disallow: string[]; delay: number | null }> = [];
  const sitemaps: string[] = [];
  let current: (typeof groups)[number] | null = null;
  let lastWasAgent = false;
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    const match = /^([A-Za-z-]+)\s*:\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, key, value] = [match[0], match[1].toLowerCase(), match[2].trim()];
    if (key === "sitemap") {
      sitemaps.push(value);
      continue;
    }
    if (key === "user-agent") {
      if (!current || !lastWasAgent) groups.push((current = { agents: [], allow: [], disallow: [], delay: null }));
      current.agents.push(value.toLowerCase());
      lastWasAgent = true;
      continue;
    }
    lastWasAgent = false;
    if (!current) continue;
    if (key === "disallow" && value) current.disallow.push(value);
    if (key === "allow" && value) current.allow.push(value);
    if (key === "crawl-delay" && Number.isFinite(Number(value))) current.delay = Number(value) * 1000;
  }
  const mine = groups.find((g) => g.agents.some((a) => a !== "*" && agent.includes(a))) ?? groups.find((g) => g.agents.includes("*"));
  return { allow: mine?.allow ?? [], disallow: mine?.disallow ?? [], crawlDelayMs: mine?.delay ?? null, sitemaps };
}

function matches(rule: string, path: string): boolean {
  const anchored = rule.endsWith("$");
  const pattern = (anchored ? rule.slice(0, -1) : rule).split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
  return new RegExp(`^${pattern}${anchored ? "$" : ""}`).test(path);
}

/** Allowed unless the longest matching rule is a Disallow (an Allow wins a tie). */
export function isAllowed(rules: RobotsRules, pathAndQuery: string): boolean {
  const longest = (list: string[]) => Math.max(-1, ...list.filter((r) => matches(r, pathAndQuery)).map((r) => r.length));
  const disallowed = longest(rules.disallow);
  return disallowed < 0 || longest(rules.allow) >= disallowed;
}
