/**
 * `bulk_operations`: one task that starts a batch of jobs of another type (server/src/batches), its
 * context_data being the batch's body (POST /api/v1/batches/). The batch id is checkpointed as soon
 * as the batch exists, so a run resumed after a crash reports that batch instead of starting another.
 */
import { CreateBatchBodySchema, type BatchView, type CreateBatchBody } from "../../../../shared/batches.js";
import { AppError } from "../../http/errors.js";
import { PermanentTaskError, type TaskHandler } from "../executor/registry.js";

export const BulkOperationsParamsSchema = CreateBatchBodySchema.refine((b) => b.task_type !== "bulk_operations", {
  message: "A bulk operation cannot start bulk operations",
  path: ["task_type"],
});

export type StartBatch = (userId: number, brandId: number, body: CreateBatchBody) => Promise<BatchView>;

export function bulkOperationsHandler(startBatch: StartBatch): TaskHandler {
  return async (ctx) => {
    const body = BulkOperationsParamsSchema.parse(ctx.task.context_data ?? {});
    const earlier = typeof ctx.resumeFrom?.batch_id === "string" ? ctx.resumeFrom.batch_id : null;
    let batchId = earlier;
    let jobs = typeof ctx.resumeFrom?.total_jobs === "number" ? ctx.resumeFrom.total_jobs : 0;
    if (!batchId) {
      await ctx.progress(10, `starting a batch of ${body.task_type}`);
      let batch: BatchView;
      try {
        batch = await startBatch(ctx.task.created_by, ctx.task.brand, body);
      } catch (err) {
        // The batch's own refusals (unknown or suspended account, bad job params) will not change on a retry.
        if (err instanceof AppError) {
          const fields = Object.entries(err.fieldErrors ?? {}).map(([field, messages]) => `${field}: ${messages.join(", ")}`);
          throw new PermanentTaskError(`The batch was refused: ${[err.detail, ...fields].join("; ")}`, { ...err.toBody() });
        }
        throw err;
      }
      batchId = batch.batch_id;
      jobs = batch.total_jobs;
      await ctx.checkpoint({ batch_id: batchId, total_jobs: jobs }, 90);
    }
    return {
      batch_id: batchId,
      task_type: body.task_type,
      account_id: body.account_id,
      jobs_created: jobs,
      status_url: `/api/v1/batches/${batchId}/status`,
      resumed: earlier !== null,
    };
  };
}
