/**
 * The Vinted connector's boundary to the task hub: a publication to Vinted becomes a
 * `vinted.create_product` task for the seller's extension, and its outcome is read back from it.
 *
 * The extension task carries an exclusive key made of the publication's reference, taken in the
 * write that creates it: a publication run again (after a crash between creating the task and
 * saving its id) finds the live one instead of asking for a second Vinted listing; once that task
 * failed or was cancelled, a retry of the publication may create a new one.
 */
import { z } from "zod";
import type { CreateProductParams } from "../../../shared/plugin.js";
import { allBrands } from "../brands/scope.js";
import { finalError, type HandedOffOutcome, type PublishedListing, type VintedTaskGateway } from "../marketplaces/index.js";
import type { PluginService } from "../plugin/service.js";
import { takeExclusiveSlot } from "../tasks/exclusive.js";
import type { TaskLifecycle } from "../tasks/lifecycle/index.js";
import type { Task } from "../tasks/model.js";

export const VINTED_CREATE_PRODUCT = "vinted.create_product";

const CreatedItemSchema = z.object({ item: z.looseObject({ id: z.number().int(), url: z.string().optional(), status: z.string().optional() }) });

const keyOf = (reference: string) => `${VINTED_CREATE_PRODUCT}:${reference}`;

export class PluginTaskGateway implements VintedTaskGateway {
  constructor(
    private readonly lifecycle: TaskLifecycle,
    private readonly plugin: PluginService,
  ) {}

  async createProductTask(input: { brand: number; user: number; reference: string; params: CreateProductParams }): Promise<{ task_id: string }> {
    const key = keyOf(input.reference);
    const outcome = await takeExclusiveSlot(this.lifecycle.tasks, input.brand, key, () =>
      this.plugin.createOnBehalf({
        owner: input.user,
        brand: input.brand,
        action: "create_product",
        params: input.params,
        description: `Publish "${input.params.title}" on Vinted (publication ${input.reference})`,
        exclusiveKey: key,
      }),
    );
    if (outcome.taken) return { task_id: outcome.value.task_id };
    if (outcome.holder) return { task_id: outcome.holder.task_id };
    throw new Error(`the Vinted task of publication ${input.reference} is being replaced concurrently`);
  }

  async createdListing(reference: string): Promise<PublishedListing | null> {
    const task = await allBrands(this.lifecycle.tasks.findOne({ exclusive_slot: keyOf(reference), status: "completed" }).lean<Task>());
    return task ? listingOf(task) : null;
  }

  async outcomeOf(taskId: string): Promise<HandedOffOutcome> {
    const task = await allBrands(this.lifecycle.tasks.findOne({ task_id: taskId }).lean<Task>());
    if (!task) return { state: "failed", error: finalError(`The Vinted task ${taskId} was deleted before it published the listing`, { task_id: taskId }) };
    switch (task.status) {
      case "pending":
      case "running":
      case "suspended":
        return { state: "waiting" };
      case "completed": {
        const listing = listingOf(task);
        return listing
          ? { state: "published", listing }
          : { state: "failed", error: finalError("The extension reported success without the Vinted item", { task_id: taskId, result_data: task.result_data ?? {} }) };
      }
      case "failed":
      case "cancelled":
        return {
          state: "failed",
          error: finalError(task.status === "cancelled" ? "The Vinted task was cancelled" : (task.error_message ?? "The extension could not publish on Vinted"), {
            task_id: taskId,
            status: task.status,
            error_code: task.plugin?.error_code ?? null,
            error: task.error_message,
          }),
        };
    }
  }
}

function listingOf(task: Task): PublishedListing | null {
  const parsed = CreatedItemSchema.safeParse(task.result_data);
  if (!parsed.success) return null;
  const { id, url, status } = parsed.data.item;
  return { marketplace_id: String(id), listing_url: url ?? "", status: status ?? null };
}
