/**
 * Vinted has no public API: a listing is created by the seller's own extension, in their logged-in
 * Vinted tab, as a `vinted.create_product` task. This connector maps the product to that task's
 * params and hands it over through a VintedTaskGateway; the pipeline then waits for the task's
 * result (handed_off) without holding a server worker.
 */
import type { Connection } from "mongoose";
import type { CreateProductParams } from "../../../../shared/plugin.js";
import { vintedModels } from "../../vinted/model.js";
import type { HandedOffOutcome, MarketplaceConnector, PublishedListing, PublicationError, PublishOutcome, PublishRequest } from "../connector.js";
import { isPublicationError, transientError } from "../connector.js";
import { VINTED_TITLE_MAX, vintedCreateParams } from "./params.js";

export const VINTED_ID = 1;

/**
 * The boundary to the task hub. Creating an extension task changes task state, which belongs to the
 * task lifecycle: the publication pipeline supplies the implementation.
 */
export interface VintedTaskGateway {
  /** Creates the user's `vinted.create_product` task for this publication, at most once per `reference` (a second call returns the first task). */
  createProductTask(input: { brand: number; user: number; reference: string; params: CreateProductParams }): Promise<{ task_id: string }>;
  /** The listing that the task created for `reference` made, once that task has completed successfully; null before. */
  createdListing(reference: string): Promise<PublishedListing | null>;
  /** Where the extension task `taskId` stands: still to run or running, done with its listing, or ended without one. */
  outcomeOf(taskId: string): Promise<HandedOffOutcome>;
}

/** Until the pipeline provides a gateway: publication to Vinted is refused as not available yet (transient). */
export const UNWIRED_VINTED_GATEWAY: VintedTaskGateway = {
  createProductTask: async () => {
    throw new Error("Vinted publication needs the task lifecycle's gateway (not wired)");
  },
  createdListing: async () => null,
  outcomeOf: async () => ({ state: "failed", error: transientError("Vinted publication needs the task lifecycle's gateway (not wired)") }),
};

export class VintedConnector implements MarketplaceConnector<null> {
  readonly id = VINTED_ID;
  readonly code = "vinted" as const;
  readonly name = "Vinted";
  readonly titleMaxLength = VINTED_TITLE_MAX;
  readonly connectionSchema = null;

  constructor(
    private readonly connection: Connection,
    private gateway: VintedTaskGateway = UNWIRED_VINTED_GATEWAY,
  ) {}

  /** The pipeline wires the task hub in here. */
  useGateway(gateway: VintedTaskGateway): void {
    this.gateway = gateway;
  }

  publicDetails(): Record<string, string | number | null> {
    return {};
  }

  /** Connected when the user's extension has read their Vinted account (get_user_data). */
  async isConnectedWithoutCredentials(user: number): Promise<boolean> {
    return (await vintedModels(this.connection).Account.exists({ owner: user })) !== null;
  }

  async publish(request: PublishRequest): Promise<PublishOutcome> {
    const params = vintedCreateParams(request);
    if (isPublicationError(params)) return { outcome: "failed", error: params };
    try {
      const { task_id } = await this.gateway.createProductTask({ brand: request.brand, user: request.user, reference: request.reference, params });
      return { outcome: "handed_off", task_id };
    } catch (err) {
      return { outcome: "failed", error: transientError(`The Vinted task could not be created (${(err as Error).message})`) };
    }
  }

  async findByReference(reference: string): Promise<PublishedListing | null | PublicationError> {
    return this.gateway.createdListing(reference);
  }

  handedOffOutcome(taskId: string): Promise<HandedOffOutcome> {
    return this.gateway.outcomeOf(taskId);
  }
}
