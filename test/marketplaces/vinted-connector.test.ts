/**
 * The Vinted connector: a product becomes the params of a `vinted.create_product` extension task,
 * handed to the task gateway (the boundary the publication pipeline wires to the task lifecycle).
 */
import { describe, expect, it } from "vitest";
import type { CreateProductParams } from "../../shared/plugin.js";
import type { PublishRequest, VintedTaskGateway } from "../../server/src/marketplaces/index.js";
import { VintedConnector } from "../../server/src/marketplaces/vinted/connector.js";
import type { PublishableProduct } from "../../server/src/products/index.js";

const product: PublishableProduct = {
  id: 7,
  brand: 3,
  title: "Robe Zara rouge",
  sku: "VINTED-101",
  description: "Portée deux fois",
  price: 19.9,
  currency: "EUR",
  brand_name: "Zara",
  size: "M",
  condition: "very_good",
  category: null,
  color: "Rouge",
  attributes: { vinted_catalog_id: 10, vinted_brand_id: 12, vinted_size_id: 206, vinted_color_ids: [4] },
  photos: [{ id: "a".repeat(24), content_type: "image/jpeg", url: "https://hub.example.com/api/v1/product-photos/x" }],
  source: null,
};

const request = (overrides: Partial<PublishRequest> = {}): PublishRequest => ({ product, enhancement: null, options: {}, reference: "task-1", brand: 3, user: 9, ...overrides });

class RecordingGateway implements VintedTaskGateway {
  readonly created: Array<{ reference: string; params: CreateProductParams; user: number }> = [];
  async createProductTask(input: { brand: number; user: number; reference: string; params: CreateProductParams }) {
    this.created.push(input);
    return { task_id: `vinted-task-${this.created.length}` };
  }
  async createdListing() {
    return null;
  }
  async outcomeOf() {
    return { state: "waiting" as const };
  }
}

// The connector reads nothing from the database when publishing.
const connector = (gateway?: VintedTaskGateway) => new VintedConnector(null as never, gateway);

describe("Vinted connector", () => {
  it("hands the product over as a create_product task, with Vinted's ids, a decimal-string price and the photo links", async () => {
    const gateway = new RecordingGateway();
    const outcome = await connector(gateway).publish(request({ enhancement: { title: "Robe Zara rouge – taille M", description: "Robe rouge en très bon état", keywords: [] } }));
    expect(outcome).toEqual({ outcome: "handed_off", task_id: "vinted-task-1" });
    expect(gateway.created[0]).toMatchObject({
      reference: "task-1",
      user: 9,
      params: {
        title: "Robe Zara rouge – taille M",
        description: "Robe rouge en très bon état",
        price: "19.90",
        catalog_id: 10,
        brand_id: 12,
        size_id: 206,
        color_ids: [4],
        status_ids: [2],
        photo_urls: [product.photos[0].url],
      },
    });
  });

  it("options override the product's attributes", async () => {
    const gateway = new RecordingGateway();
    await connector(gateway).publish(request({ options: { catalog_id: 99, status_id: 6 } }));
    expect(gateway.created[0].params).toMatchObject({ catalog_id: 99, status_ids: [6] });
  });

  it("a product without Vinted's ids fails at once (final) naming what is missing", async () => {
    const gateway = new RecordingGateway();
    const outcome = await connector(gateway).publish(request({ product: { ...product, attributes: {}, condition: null } }));
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "final", marketplace_response: { error_code: "MISSING_VINTED_FIELDS", fields: ["brand_id", "size_id", "catalog_id", "status_ids"] } } });
    expect(gateway.created).toEqual([]);
  });

  it("without a wired gateway, publication is a transient failure (nothing is lost)", async () => {
    const outcome = await connector().publish(request());
    expect(outcome).toMatchObject({ outcome: "failed", error: { kind: "transient" } });
  });
});
