/** Persistent jobs (spec/tasks-infrastructure-overview.md, task_persistence): resumable tasks and checkpoints. */
import { z } from "zod";
import { PageQuerySchema, TimestampSchema, paginated } from "./common.js";
import { PersistentJobSummarySchema, TaskStatusSchema } from "./tasks.js";

export const CheckpointSchema = z
  .object({
    task_id: z.string(),
    sequence: z.number().int(),
    state: z.record(z.string(), z.unknown()),
    progress_percentage: z.number(),
    worker_id: z.string().nullable(),
    created_at: TimestampSchema,
  })
  .meta({ id: "Checkpoint" });
export type CheckpointView = z.infer<typeof CheckpointSchema>;

export const PersistentJobSchema = PersistentJobSummarySchema.extend({
  id: z.number().int(),
  task_id: z.string(),
  task_type: z.string(),
  status: TaskStatusSchema,
  last_checkpoint: CheckpointSchema.nullable(),
}).meta({ id: "PersistentJob" });
export type PersistentJobView = z.infer<typeof PersistentJobSchema>;

export const PersistentJobListResponseSchema = paginated(PersistentJobSchema).meta({ id: "PersistentJobList" });
export const CheckpointListResponseSchema = paginated(CheckpointSchema).meta({ id: "CheckpointList" });

export const CheckpointListQuerySchema = PageQuerySchema.extend({
  task_id: z.string().regex(/^task_[A-Za-z0-9]{4,64}$/).optional(),
});
export type CheckpointListQuery = z.infer<typeof CheckpointListQuerySchema>;

export const ResumeJobResponseSchema = z
  .object({
    message: z.string(),
    task_id: z.string(),
    new_status: TaskStatusSchema,
    resumed_from_checkpoint: z.number().int(),
    progress_percentage: z.number(),
  })
  .meta({ id: "ResumeJobResponse" });
export type ResumeJobResponse = z.infer<typeof ResumeJobResponseSchema>;
