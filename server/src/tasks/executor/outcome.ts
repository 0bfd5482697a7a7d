/** Why a run stopped before its handler finished. */
export class TaskStoppedError extends Error {
  constructor(readonly reason: "cancelled" | "timeout" | "shutdown", message: string) {
    super(message);
    this.name = "TaskStoppedError";
  }
}

/** A serialisable description of a failure for `error_details` (no stack traces leave the server). */
export function describeError(err: unknown): { message: string; details: Record<string, unknown> } {
  if (err instanceof Error) {
    const details: Record<string, unknown> = { type: err.name };
    const extra = (err as { details?: unknown }).details;
    if (extra && typeof extra === "object") Object.assign(details, extra);
    return { message: err.message || err.name, details };
  }
  return { message: String(err), details: { type: typeof err } };
}

/** Resolves with the handler's result, or rejects as soon as `signal` aborts (cancel, timeout). */
export function untilStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
