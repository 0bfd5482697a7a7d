/**
 * What the lifecycle tells the rest of the server. Features that must react to a task's status
 * (queueing, long-poll wake-ups, metrics, batch counters, publication steps, webhooks) listen here
 * instead of writing `status` themselves.
 */
import type { Logger } from "pino";
import type { TaskStatus } from "../../../../shared/tasks.js";
import type { Task } from "../model.js";
import type { TransitionName } from "./table.js";

export interface TaskStatusChanged {
  from: TaskStatus;
  to: TaskStatus;
  /** The named transition that made the change (claim, complete, failOrRetry…). */
  transition: TransitionName;
  /** The task as the change left it. */
  task: Task;
}

/**
 * One bulk transition over a batch's jobs (pause, resume, cancel): how many tasks left each
 * from-state, so counters move by exact numbers in one write.
 */
export interface TasksBulkStatusChanged {
  transition: TransitionName;
  to: TaskStatus;
  brand: number;
  batch_id: string;
  /** Tasks moved from each state (only states that moved are present). */
  counts: Partial<Record<TaskStatus, number>>;
  at: Date;
}

export interface TaskEventMap {
  "task.status_changed": TaskStatusChanged;
  /** A new task, pending (or scheduled); its first status. */
  "task.created": { task: Task };
  /** A task removed (DELETE /tasks/{id}, a duplicate sync dropped); `task` is its last state. */
  "task.deleted": { task: Task };
  /** Many new tasks at once (a batch's jobs, one chunk of an insertMany), all pending. */
  "tasks.created": { brand: number; batch_id: string | null; tasks: Task[] };
  "tasks.bulk_status_changed": TasksBulkStatusChanged;
  /** A server task put on its brand's waiting list by a claim that found every running slot taken. */
  "task.awaiting_slot": { task: Pick<Task, "task_id" | "brand"> };
}

export type TaskEventName = keyof TaskEventMap;
export type TaskEventListener<E extends TaskEventName> = (event: TaskEventMap[E]) => void | Promise<void>;

/**
 * A small typed emitter. Listeners run after the database write, in subscription order; the
 * transition resolves once they have (an async listener is awaited), so what they update is in
 * place when the caller answers. A listener that throws is logged and never undoes the change.
 */
export class TaskEvents {
  private readonly listeners: { [E in TaskEventName]: Array<TaskEventListener<E>> } = {
    "task.status_changed": [],
    "task.created": [],
    "task.deleted": [],
    "tasks.created": [],
    "tasks.bulk_status_changed": [],
    "task.awaiting_slot": [],
  };

  constructor(private readonly logger: Logger) {}

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends TaskEventName>(name: E, listener: TaskEventListener<E>): () => void {
    const list = this.listeners[name] as Array<TaskEventListener<E>>;
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  async emit<E extends TaskEventName>(name: E, event: TaskEventMap[E]): Promise<void> {
    const list = this.listeners[name] as Array<TaskEventListener<E>>;
    if (list.length === 0) return;
    for (const listener of [...list]) {
      try {
        await listener(event);
      } catch (err) {
        this.logger.error({ err, event: name, task_id: "task" in event ? event.task.task_id : undefined }, "task event listener failed");
      }
    }
  }
}
