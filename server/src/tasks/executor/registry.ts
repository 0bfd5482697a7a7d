import type { z } from "zod";
import type { Logger } from "pino";
import type { Task } from "../model.js";

/** What a handler may do while it runs. */
export interface TaskContext {
  readonly task: Readonly<Task>;
  /** Aborted when the task is cancelled or times out: handlers stop at the next step. */
  readonly signal: AbortSignal;
  /** The state saved by the last `checkpoint` of an earlier, interrupted run; null on a fresh start. */
  readonly resumeFrom: Record<string, unknown> | null;
  readonly logger: Logger;
  /** 0–100, with an optional message ("page 12/80"); cheap to call often (writes are throttled). */
  progress(percentage: number, message?: string): Promise<void>;
  /** Saves state a later run can resume from after a crash. */
  checkpoint(state: Record<string, unknown>, progressPercentage?: number): Promise<void>;
  /** Adds to the task's cost (USD), e.g. a paid API call. */
  reportCost(usd: number): void;
  /** Writes fields of the task (never its status) while this run owns it; false when it no longer does. */
  record(fields: Record<string, unknown>): Promise<boolean>;
  /** Throws if the task was cancelled or timed out. */
  throwIfStopped(): void;
}

export type TaskHandler = (ctx: TaskContext) => Promise<Record<string, unknown> | void>;

export interface TaskTypeDefinition {
  handler: TaskHandler;
  description: string;
  /** context_data this type accepts: checked when a task is created or changed (400), not only when it runs. */
  params?: z.ZodType;
}

/** A failure that retrying cannot fix: the task fails at once, whatever `max_retries` says. */
export class PermanentTaskError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown> | null = null,
  ) {
    super(message);
    this.name = "PermanentTaskError";
  }
}

/**
 * Thrown by a handler that hands its task over to wait for another task (`taskId`), e.g. a
 * publication waiting for the seller's extension: the run ends without an outcome, the task is
 * suspended (no worker held) and runs again once that task ends. The handler saves its own state first.
 */
export class TaskWaiting extends Error {
  constructor(
    readonly taskId: string,
    message: string,
  ) {
    super(message);
    this.name = "TaskWaiting";
  }
}

/** Server-side task types and their handlers. */
export class TaskRegistry {
  private readonly types = new Map<string, TaskTypeDefinition>();

  register(taskType: string, definition: TaskTypeDefinition): this {
    this.types.set(taskType, definition);
    return this;
  }

  get(taskType: string): TaskTypeDefinition | undefined {
    return this.types.get(taskType);
  }

  has(taskType: string): boolean {
    return this.types.has(taskType);
  }

  names(): string[] {
    return [...this.types.keys()].sort();
  }
}
