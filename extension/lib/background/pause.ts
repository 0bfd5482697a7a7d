import { captchaStrikesItem, pauseItem, type PauseState } from "../storage";

const CAPTCHA_FIRST_PAUSE_MS = 30 * 60_000;
const CAPTCHA_MAX_PAUSE_MS = 6 * 3600_000;

/** The pause in force now; an expired timed pause is lifted on the way. */
export async function activePause(now = Date.now()): Promise<PauseState | null> {
  const pause = await pauseItem.getValue();
  if (!pause) return null;
  if (pause.until !== null && pause.until <= now) {
    await pauseItem.setValue(null);
    return null;
  }
  return pause;
}

export async function pauseByUser(): Promise<void> {
  await pauseItem.setValue({ reason: "user", since: Date.now(), until: null, message: "Paused by you" });
}

/** The seller resumed: they have seen the Vinted tab (and solved any challenge). */
export async function resumeByUser(): Promise<void> {
  await pauseItem.setValue(null);
}

/** vinted-notes: after a challenge pause 30 min, doubling up to 6 h while challenges keep coming. */
export async function pauseForCaptcha(message: string): Promise<PauseState> {
  const strikes = (await captchaStrikesItem.getValue()) + 1;
  await captchaStrikesItem.setValue(strikes);
  const duration = Math.min(CAPTCHA_MAX_PAUSE_MS, CAPTCHA_FIRST_PAUSE_MS * 2 ** (strikes - 1));
  const pause: PauseState = { reason: "captcha", since: Date.now(), until: Date.now() + duration, message };
  await pauseItem.setValue(pause);
  return pause;
}

export async function pauseForRateLimit(waitMs: number, message: string): Promise<void> {
  await pauseItem.setValue({ reason: "rate_limited", since: Date.now(), until: Date.now() + waitMs, message });
}

/** A task that went through without a challenge resets the doubling. */
export async function clearCaptchaStrikes(): Promise<void> {
  if ((await captchaStrikesItem.getValue()) !== 0) await captchaStrikesItem.setValue(0);
}
