/**
 * Cron expressions for periodic tasks: our own strict grammar check first, then cron-parser (5) for
 * the arithmetic (next occurrences in an IANA time zone, DST included) and cronstrue for the human
 * description.
 *
 * Why a grammar of our own: cron-parser is lenient where a schedule should be refused. It takes
 * 4 fields (a missing day-of-week silently becomes "*"), an empty string (every minute), `*\/60`
 * (a step that can only ever hit one value), `?` in any field, Jenkins' `H` (a hash that picks a
 * minute for you); and it refuses harmless redundancy such as `*\/5,10` (duplicate values) with an
 * unhelpful message. So every field is parsed here, each problem reported in words, and what
 * cron-parser receives is a normalised 6-field expression (names → numbers, lists expanded and
 * de-duplicated, DOW 7 → 0) that it cannot misread.
 *
 * Accepted grammar
 * - 5 fields `minute hour day-of-month month day-of-week`, or 6 with seconds first.
 * - Per field: `*`, a value, `a-b`, `*\/n`, `a-b/n`, `a/n` (from a to the field's end), lists `a,b-c`.
 * - Names: JAN–DEC in month, SUN–SAT in day-of-week (3 letters, any case); DOW 0 and 7 are Sunday,
 *   and a range ending on SUN (`MON-SUN`) runs to 7.
 * - `?` (= `*`) as the whole day-of-month or day-of-week field.
 * - Day of month `L` (last day); day of week `5L` (last Friday) and `1#2` (second Monday, alone).
 * - Macros `@yearly`/`@annually`, `@monthly`, `@weekly`, `@daily`/`@midnight`, `@hourly`.
 * - Not accepted: `@reboot` (schedules are about time, not server starts), `W`, `H`, wrap-around
 *   ranges (`22-2`: write `22-23,0-2`), steps of 0 or steps larger than the field's span.
 *
 * Day of month and day of week: when both are restricted, a day matches when EITHER matches (the
 * classic cron rule, as cron-parser implements it); the validator warns about it.
 *
 * DST (cron-parser 5, checked by the tests): occurrences are computed on the zone's wall clock.
 * - Spring forward: a time that does not exist that day (02:30 in Europe/Paris on the last Sunday
 *   of March) runs once, shifted by the gap (03:30 CEST). Minute/hour-stepped schedules simply have
 *   no occurrences inside the gap.
 * - Fall back: a fixed time inside the repeated hour (01:30 in America/New_York on the first Sunday
 *   of November) runs once, at its first occurrence (01:30 EDT); schedules that run every hour or
 *   more often keep running in real time through both passes of the repeated hour.
 *   `nextRunAfter` walks on from the occurrence that last fired, so a restart or a resume inside
 *   the repeated hour does not run a fixed-time schedule a second time.
 */
import { CronExpressionParser } from "cron-parser";
import cronstrue from "cronstrue";

export const MAX_EXPRESSION_LENGTH = 200;

type FieldKey = "second" | "minute" | "hour" | "day_of_month" | "month" | "day_of_week";

interface FieldSpec {
  key: FieldKey;
  label: string;
  min: number;
  /** Largest value written (7 for day of week, an alias of 0). */
  max: number;
  /** Largest distinct value (6 for day of week). */
  last: number;
  names?: Record<string, number>;
}

const MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
const DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

const FIELDS: Record<FieldKey, FieldSpec> = {
  second: { key: "second", label: "second", min: 0, max: 59, last: 59 },
  minute: { key: "minute", label: "minute", min: 0, max: 59, last: 59 },
  hour: { key: "hour", label: "hour", min: 0, max: 23, last: 23 },
  day_of_month: { key: "day_of_month", label: "day-of-month", min: 1, max: 31, last: 31 },
  month: { key: "month", label: "month", min: 1, max: 12, last: 12, names: Object.fromEntries(MONTH_NAMES.map((n, i) => [n, i + 1])) },
  day_of_week: { key: "day_of_week", label: "day-of-week", min: 0, max: 7, last: 6, names: Object.fromEntries(DAY_NAMES.map((n, i) => [n, i])) },
};

const FIVE_FIELDS: FieldKey[] = ["minute", "hour", "day_of_month", "month", "day_of_week"];
const SIX_FIELDS: FieldKey[] = ["second", ...FIVE_FIELDS];

export const CRON_MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** A checked expression, ready for the arithmetic. */
export interface CronSchedule {
  /** As written (trimmed). */
  expression: string;
  /** Macro resolved (what the description is made from). */
  resolved: string;
  /** 6 fields, numbers only, what cron-parser receives. */
  normalized: string;
  hasSeconds: boolean;
  /** Both day-of-month and day-of-week restricted: days matching either run. */
  dayOrRule: boolean;
}

export type CronCheck = { ok: true; schedule: CronSchedule } | { ok: false; errors: string[] };

interface ParsedField {
  /** `*` for an unrestricted field, else the normalised list. */
  text: string;
  wildcard: boolean;
}

const NUMBER = /^\d{1,4}$/;
const NAME = /^[A-Za-z]+$/;

class FieldError extends Error {}

function resolveValue(spec: FieldSpec, token: string): number {
  if (NUMBER.test(token)) {
    const value = Number(token);
    if (value < spec.min || value > spec.max) throw new FieldError(`${token} is out of range ${spec.min}-${spec.max}`);
    return value;
  }
  if (NAME.test(token)) {
    if (!spec.names) throw new FieldError(`'${token}' is not a number (names are only allowed in month and day-of-week)`);
    const value = spec.names[token.toUpperCase()];
    if (value === undefined) {
      throw new FieldError(`unknown ${spec.label} name '${token}' (use ${Object.keys(spec.names).join(", ")})`);
    }
    return value;
  }
  throw new FieldError(`'${token}' is not a valid value`);
}

function resolveStep(spec: FieldSpec, token: string): number {
  if (!/^\d{1,4}$/.test(token)) throw new FieldError(`step '${token}' must be a positive whole number`);
  const step = Number(token);
  if (step === 0) throw new FieldError("a step of 0 is not allowed");
  const span = spec.last - spec.min;
  if (step > span) throw new FieldError(`step ${step} is larger than the field's span (at most ${span})`);
  return step;
}

/** One list element → the values it stands for. */
function expandElement(spec: FieldSpec, element: string): number[] {
  const [rangePart, stepPart, ...extra] = element.split("/");
  if (extra.length) throw new FieldError(`'${element}' has more than one step`);
  if (rangePart === "") throw new FieldError(`'${element}' has a step without a range`);
  const step = stepPart === undefined ? 1 : resolveStep(spec, stepPart);
  let from: number;
  let to: number;
  if (rangePart === "*") {
    from = spec.min;
    to = spec.last;
  } else {
    const bounds = rangePart.split("-");
    if (bounds.length > 2) throw new FieldError(`'${rangePart}' is not a range (a-b)`);
    if (bounds.some((b) => b === "")) throw new FieldError(`'${rangePart}' is not a range (a-b); negative values are not allowed`);
    from = resolveValue(spec, bounds[0]);
    if (bounds.length === 2) {
      to = resolveValue(spec, bounds[1]);
      // MON-SUN: Sunday at the end of a range is day 7.
      if (spec.key === "day_of_week" && to === 0 && from > 0) to = 7;
      if (from > to) throw new FieldError(`range ${rangePart} goes backwards (wrap-around ranges are not supported; split it into two ranges)`);
    } else {
      to = stepPart === undefined ? from : spec.last;
    }
  }
  const values: number[] = [];
  for (let v = from; v <= to; v += step) values.push(spec.key === "day_of_week" ? v % 7 : v);
  return values;
}

function parseField(spec: FieldSpec, raw: string): ParsedField {
  if (raw === "*") return { text: "*", wildcard: true };
  if (raw === "?") {
    if (spec.key !== "day_of_month" && spec.key !== "day_of_week") throw new FieldError("'?' is only allowed in day-of-month and day-of-week");
    return { text: "*", wildcard: true };
  }
  if (raw.includes("?")) throw new FieldError("'?' must be the whole field");
  if (/h/i.test(raw) && /^[\dHh(),\-/]+$/.test(raw)) throw new FieldError("'H' (hashed values) is not supported");
  if (/w/i.test(raw) && spec.key === "day_of_month") throw new FieldError("'W' (nearest weekday) is not supported");
  const elements = raw.split(",");
  if (elements.some((e) => e === "")) throw new FieldError(`empty value in the list '${raw}'`);

  const values = new Set<number>();
  const specials: string[] = [];
  for (const element of elements) {
    if (spec.key === "day_of_month" && /^l$/i.test(element)) {
      specials.push("L");
      continue;
    }
    if (/l/i.test(element) && spec.key === "day_of_month") throw new FieldError(`'${element}': only a plain 'L' (last day of the month) is supported`);
    if (spec.key === "day_of_week") {
      const last = /^([A-Za-z]{3}|\d{1,2})L$/i.exec(element);
      if (last) {
        specials.push(`${resolveValue(spec, last[1]) % 7}L`);
        continue;
      }
      const nth = /^([A-Za-z]{3}|\d{1,2})#(\d{1,2})$/.exec(element);
      if (nth) {
        const occurrence = Number(nth[2]);
        if (occurrence < 1 || occurrence > 5) throw new FieldError(`'${element}': the occurrence after '#' must be 1-5`);
        if (elements.length > 1) throw new FieldError(`'${element}': '#' cannot be combined with other values in a list`);
        specials.push(`${resolveValue(spec, nth[1]) % 7}#${occurrence}`);
        continue;
      }
      if (element.includes("#")) throw new FieldError(`'${element}' is not a valid 'day#occurrence' (e.g. 1#2, the second Monday)`);
    }
    for (const v of expandElement(spec, element)) values.add(v);
  }
  const list = [...values].sort((a, b) => a - b).map(String);
  if (specials.some((s) => s.includes("#")) && list.length) throw new FieldError("'#' cannot be combined with other values in a list");
  return { text: [...list, ...specials].join(","), wildcard: false };
}

function fieldCountError(count: number): string {
  return `expected 5 fields (minute hour day-of-month month day-of-week), or 6 with seconds first; got ${count}`;
}

/** Checks an expression; every problem is reported, field by field. */
export function parseCron(input: string): CronCheck {
  const expression = input.trim();
  if (expression === "") return { ok: false, errors: ["the expression is empty"] };
  if (expression.length > MAX_EXPRESSION_LENGTH) return { ok: false, errors: [`the expression is longer than ${MAX_EXPRESSION_LENGTH} characters`] };

  let resolved = expression;
  if (expression.startsWith("@")) {
    const macro = CRON_MACROS[expression.toLowerCase()];
    if (!macro) {
      const why = expression.toLowerCase() === "@reboot" ? "@reboot is not supported (schedules run on the clock, not at server start)" : `unknown macro '${expression}'`;
      return { ok: false, errors: [`${why}; supported: ${Object.keys(CRON_MACROS).join(", ")}`] };
    }
    resolved = macro;
  }

  const parts = resolved.split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) return { ok: false, errors: [fieldCountError(parts.length)] };
  const keys = parts.length === 6 ? SIX_FIELDS : FIVE_FIELDS;
  const errors: string[] = [];
  const parsed = {} as Record<FieldKey, ParsedField>;
  keys.forEach((key, i) => {
    const spec = FIELDS[key];
    try {
      parsed[key] = parseField(spec, parts[i]);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      errors.push(`${spec.label} (field ${i + 1}, '${parts[i]}'): ${err.message}`);
    }
  });
  if (errors.length) return { ok: false, errors };

  const second = parsed.second?.text ?? "0";
  const normalized = [second, ...FIVE_FIELDS.map((k) => parsed[k].text)].join(" ");
  const schedule: CronSchedule = {
    expression,
    resolved,
    normalized,
    hasSeconds: parts.length === 6,
    dayOrRule: !parsed.day_of_month.wildcard && !parsed.day_of_week.wildcard,
  };
  // What only the arithmetic can tell: a date that never exists (30 February), a schedule that never matches.
  try {
    const iterator = CronExpressionParser.parse(normalized, { currentDate: new Date(Date.UTC(2000, 0, 1)), tz: "UTC" });
    iterator.next();
  } catch (err) {
    return { ok: false, errors: [explainParserError((err as Error).message)] };
  }
  return { ok: true, schedule };
}

function explainParserError(message: string): string {
  if (/explicit day of month/i.test(message)) return "day-of-month: the given day never occurs in the given month(s) (e.g. 30 February), so the schedule would never run";
  if (/loop limit/i.test(message)) return "the schedule never matches a date";
  return message;
}

/** cronstrue's wording ("At 09:00, Monday through Friday"); null if it cannot describe it. */
export function describeCron(schedule: CronSchedule): string | null {
  for (const text of [schedule.resolved, schedule.normalized]) {
    try {
      return cronstrue.toString(text, { use24HourTimeFormat: true, throwExceptionOnParseError: true, dayOfWeekStartIndexZero: true });
    } catch {
      // try the normalised form
    }
  }
  return null;
}

/** The next `count` occurrences strictly after `after`, computed on `timeZone`'s wall clock. */
export function nextRuns(schedule: CronSchedule, timeZone: string, after: Date, count: number): Date[] {
  const iterator = CronExpressionParser.parse(schedule.normalized, { currentDate: after, tz: timeZone });
  const runs: Date[] = [];
  for (let i = 0; i < count; i++) runs.push(iterator.next().toDate());
  return runs;
}

/** How far the walk from the last fired occurrence may go before starting from now instead. */
const MAX_CATCH_UP_STEPS = 1_000;

/**
 * The next occurrence after `now`. With `anchor` (the occurrence that last fired), the walk goes on
 * from it in cron-parser's own sequence and skips what is already past — missed occurrences are
 * not run one by one, and a fixed time in a repeated DST hour is not run twice. A far-away anchor
 * (more than MAX_CATCH_UP_STEPS occurrences back) is dropped for a plain computation from now.
 */
export function nextRunAfter(schedule: CronSchedule, timeZone: string, now: Date, anchor?: Date | null): Date {
  if (anchor && anchor <= now) {
    const iterator = CronExpressionParser.parse(schedule.normalized, { currentDate: anchor, tz: timeZone });
    for (let i = 0; i < MAX_CATCH_UP_STEPS; i++) {
      const next = iterator.next().toDate();
      if (next > now) return next;
    }
  }
  return nextRuns(schedule, timeZone, now, 1)[0];
}

/** An IANA zone cron-parser (luxon) can compute in too. */
export function zoneUsableByCronParser(timeZone: string): boolean {
  try {
    CronExpressionParser.parse("0 0 * * *", { currentDate: new Date(Date.UTC(2000, 0, 1)), tz: timeZone }).next();
    return true;
  } catch {
    return false;
  }
}

/** `2025-03-30T03:30:00+02:00`: the instant on the zone's wall clock, with its offset. */
export function toZonedIso(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      timeZoneName: "longOffset",
    })
      .formatToParts(date)
      .map((p) => [p.type, p.value]),
  ) as Record<string, string>;
  const offset = parts.timeZoneName === "GMT" ? "+00:00" : parts.timeZoneName.replace(/^GMT/, "");
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
}

/** The shortest gap between consecutive runs among the next few (for the "faster than the tick" warning). */
export function shortestIntervalMs(runs: Date[]): number | null {
  let shortest: number | null = null;
  for (let i = 1; i < runs.length; i++) {
    const gap = runs[i].getTime() - runs[i - 1].getTime();
    if (shortest === null || gap < shortest) shortest = gap;
  }
  return shortest;
}

/** Occurrences looked at for the shortest gap: a minute's worth of second-stepped runs and more. */
const GAP_SAMPLE = 120;

/**
 * The shortest gap, in seconds, between consecutive occurrences (among the first GAP_SAMPLE from a
 * fixed instant, in UTC: sub-minute steps repeat every minute, so they show up in any sample).
 * Null when fewer than two occurrences can be computed.
 */
export function shortestGapSeconds(schedule: CronSchedule): number | null {
  try {
    const gap = shortestIntervalMs(nextRuns(schedule, "UTC", new Date(Date.UTC(2001, 0, 1)), GAP_SAMPLE));
    return gap === null ? null : gap / 1000;
  } catch {
    return null;
  }
}
