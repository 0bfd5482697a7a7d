/** The publication pipeline's step logic, walked through every path as pure functions. */
import { describe, expect, it } from "vitest";
import {
  applyPatch,
  completeStep,
  currentStepText,
  initialState,
  nextStep,
  noWebhookResult,
  onStepFailure,
  progressPercentage,
  publicationPlan,
  publicationResult,
  resumeAfterFailure,
  retryDelayMs,
  startStep,
  type RetryPolicy,
  type StepFailure,
  type StepState,
} from "../../server/src/publication/steps.js";

const policy: RetryPolicy = { maxRetries: 3, baseDelayMs: 1000, maxDelayMs: 60_000 };
const now = new Date("2024-01-15T10:00:00Z");
const transient = (retryAfter: number | null = null): StepFailure => ({ kind: "transient", message: "MercadoLibre answered 503", response: { status: 503 }, retry_after_ms: retryAfter });
const invalidCategory: StepFailure = {
  kind: "final",
  message: "Validation error: Category MLA999 does not exist (item.category_id.invalid)",
  response: { message: "Validation error", error: "validation_error", status: 400, cause: [{ code: "item.category_id.invalid" }] },
  retry_after_ms: null,
};

function run(state: StepState, ...patches: Array<(s: StepState) => Partial<StepState>>): StepState {
  return patches.reduce((s, p) => applyPatch(s, p(s)), state);
}

describe("publication steps", () => {
  it("go enhancement → publication → webhook, with the spec's status words, text and progress", () => {
    const seen: Array<[string, string, number]> = [];
    let s = initialState();
    const record = () => seen.push([s.status, currentStepText(s, "MercadoLibre"), progressPercentage(s)]);
    record();
    for (const step of ["enhancement", "publication", "webhook"] as const) {
      expect(nextStep(s)).toBe(step);
      s = applyPatch(s, startStep(s, step, now));
      record();
      const result = step === "publication" ? publicationResult({ marketplace_id: "MLA1", listing_url: "https://ml/MLA1" }) : { success: true };
      s = applyPatch(s, completeStep(s, step, result));
      record();
    }
    expect(nextStep(s)).toBeNull();
    expect(seen).toEqual([
      ["pending", "Waiting to start", 0],
      ["enhancing", "Enhancing the listing", 0],
      ["enhanced", "Enhanced, waiting to publish", 25],
      ["publishing", "Publishing to MercadoLibre", 25],
      ["published", "Published, sending webhook", 50],
      ["published", "Published, sending webhook", 50],
      ["completed", "Process completed successfully", 100],
    ]);
    expect(s).toMatchObject({
      steps_completed: ["enhancement", "publication", "webhook"],
      publication_result: { success: true, marketplace_id: "MLA1", listing_url: "https://ml/MLA1" },
      error_details: {},
    });
  });

  it("retries a transient failure with backoff (Retry-After wins), then fails with error_details once the budget is spent", () => {
    let s = run(initialState(), (x) => startStep(x, "enhancement", now), (x) => completeStep(x, "enhancement", { success: true }));
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      s = applyPatch(s, startStep(s, "publication", now));
      const decision = onStepFailure(s, "publication", transient(i === 1 ? 7000 : null), policy);
      expect(decision.action).toBe("retry");
      if (decision.action === "retry") delays.push(decision.delay_ms);
      s = applyPatch(s, decision.patch);
      expect(s.status).toBe("enhanced");
    }
    expect(delays).toEqual([1000, 7000, 4000]);
    expect(s.publication_retries).toBe(3);
    const last = onStepFailure(applyPatch(s, startStep(s, "publication", now)), "publication", transient(), policy);
    expect(last).toEqual({
      action: "fail",
      patch: { status: "failed", error_details: { step: "publication", error: "MercadoLibre answered 503", marketplace_response: { status: 503 }, retries: 3 } },
    });
    s = applyPatch(s, last.patch);
    expect(currentStepText(s, "MercadoLibre")).toBe("Failed during publication");
    expect(progressPercentage(s)).toBe(25);
  });

  it("fails at once on a validation refusal, with the marketplace's answer", () => {
    const s = run(initialState(), (x) => startStep(x, "enhancement", now), (x) => completeStep(x, "enhancement", { success: true }), (x) => startStep(x, "publication", now));
    const decision = onStepFailure(s, "publication", invalidCategory, policy);
    expect(decision).toEqual({
      action: "fail",
      patch: { status: "failed", error_details: { step: "publication", error: invalidCategory.message, marketplace_response: invalidCategory.response, retries: 0 } },
    });
  });

  it("a retry resumes at the failed step with a fresh budget, keeping completed steps and their results", () => {
    let s = run(
      initialState(),
      (x) => startStep(x, "enhancement", now),
      (x) => completeStep(x, "enhancement", { success: true, enhanced_description: "…" }),
      (x) => startStep(x, "publication", now),
      (x) => completeStep(x, "publication", publicationResult({ marketplace_id: "MLA1", listing_url: "u" })),
      (x) => startStep(x, "webhook", now),
    );
    s = applyPatch(s, onStepFailure(s, "webhook", { kind: "final", message: "the endpoint answered 410", response: { status_code: 410 }, retry_after_ms: null }, policy).patch);
    expect(s.status).toBe("failed");
    s = applyPatch(s, resumeAfterFailure(s));
    expect(s).toMatchObject({ status: "published", error_details: {}, webhook_retries: 0, publication_result: { marketplace_id: "MLA1" }, steps_completed: ["enhancement", "publication"] });
    expect(nextStep(s)).toBe("webhook");
    expect(() => startStep(s, "publication", now)).toThrow(/already completed/);
    expect(() => resumeAfterFailure(s)).toThrow(/only a failed/);
  });

  it("after a first call to the marketplace, the publication step looks its listing up before publishing again", () => {
    let s = run(initialState(), (x) => startStep(x, "enhancement", now), (x) => completeStep(x, "enhancement", { success: true }));
    expect(publicationPlan(s)).toBe("publish");
    s = applyPatch(s, startStep(s, "publication", now));
    expect(s.publication_started_at).toBe(now.toISOString());
    // A crash here: the marketplace may have accepted. The resumed run must look first.
    expect(publicationPlan(s)).toBe("lookup_then_publish");
    const later = applyPatch(s, startStep(s, "publication", new Date("2024-01-15T11:00:00Z")));
    expect(later.publication_started_at).toBe(now.toISOString());
  });

  it("a webhook step without any endpoint completes and says so", () => {
    expect(noWebhookResult("publication.published")).toEqual({ status_code: null, response: expect.stringContaining("No webhook endpoint") });
  });

  it("caps every delay", () => {
    expect(retryDelayMs(10, null, policy)).toBe(60_000);
    expect(retryDelayMs(1, 3_600_000, policy)).toBe(60_000);
    expect(retryDelayMs(1, -5, policy)).toBe(0);
  });
});
