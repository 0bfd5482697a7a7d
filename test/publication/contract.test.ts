/** The shared publication schemas hold the shapes spec/product-tasks-endpoint.md shows. */
import { describe, expect, it } from "vitest";
import { ProductTasksQuerySchema, ProductTasksResponseSchema, PublishBodySchema } from "../../shared/publications.js";

/** The spec's example answer, as written there. */
const SPEC_EXAMPLE = {
  product_id: "123",
  product_title: "iPhone 15 Pro",
  product_sku: "IPH15P-001",
  total_tasks: 5,
  showing: 5,
  offset: 0,
  limit: 50,
  has_more: false,
  status_summary: { completed: 2, enhancing: 1, failed: 1, publishing: 1 },
  marketplace_summary: { MercadoLibre: 3, Amazon: 2 },
  tasks: [
    {
      task_id: "550e8400-e29b-41d4-a716-446655440000",
      product: 123,
      marketplace: 456,
      status: "completed",
      current_step: "Process completed successfully",
      steps_completed: ["enhancement", "publication", "webhook"],
      total_steps: 4,
      progress_percentage: 75.0,
      enhancement_retries: 0,
      publication_retries: 1,
      webhook_retries: 0,
      enhancement_result: { success: true, enhanced_description: "AI-enhanced product description...", keywords: ["smartphone", "apple", "premium"] },
      publication_result: { success: true, marketplace_id: "MLM123456789", listing_url: "https://mercadolibre.com/item/MLM123456789" },
      webhook_result: { status_code: 200, response: "OK" },
      error_details: {},
      started_at: "2024-01-15T10:00:00Z",
      completed_at: "2024-01-15T10:05:30Z",
      product_title: "iPhone 15 Pro",
      product_sku: "IPH15P-001",
      marketplace_name: "MercadoLibre",
    },
    {
      task_id: "660f9511-f3ac-52e5-b827-557766551111",
      product: 123,
      marketplace: 789,
      status: "failed",
      current_step: "Failed during publication",
      steps_completed: ["enhancement"],
      total_steps: 4,
      progress_percentage: 25.0,
      enhancement_retries: 0,
      publication_retries: 3,
      webhook_retries: 0,
      enhancement_result: { success: true, enhanced_description: "AI-enhanced product description..." },
      publication_result: {},
      webhook_result: {},
      error_details: {
        step: "publication",
        error: "Invalid product category for marketplace",
        marketplace_response: { error_code: "INVALID_CATEGORY", message: "Category 'Electronics' not found" },
        retries: 3,
      },
      started_at: "2024-01-15T11:00:00Z",
      completed_at: null,
      product_title: "iPhone 15 Pro",
      product_sku: "IPH15P-001",
      marketplace_name: "Amazon",
    },
  ],
};

describe("publication contract", () => {
  it("the product-tasks answer schema accepts the spec's example exactly, and refuses other status words", () => {
    expect(ProductTasksResponseSchema.parse(SPEC_EXAMPLE)).toEqual(SPEC_EXAMPLE);
    const bad = structuredClone(SPEC_EXAMPLE);
    bad.tasks[0].status = "done";
    expect(ProductTasksResponseSchema.safeParse(bad).success).toBe(false);
  });

  it("the product-tasks filters: status words, marketplace id, limit 50 by default and at most 100, offset", () => {
    expect(ProductTasksQuerySchema.parse({})).toEqual({ limit: 50, offset: 0 });
    expect(ProductTasksQuerySchema.parse({ status: "failed", marketplace_id: "456", limit: "500", offset: "20" })).toEqual({ status: "failed", marketplace_id: 456, limit: 100, offset: 20 });
    expect(ProductTasksQuerySchema.safeParse({ status: "running" }).success).toBe(false);
    expect(ProductTasksQuerySchema.safeParse({ offset: "-1" }).success).toBe(false);
  });

  it("the publish request: one product, distinct marketplaces, options per marketplace", () => {
    expect(PublishBodySchema.parse({ product_id: 1, marketplace_ids: [2], options: { mercadolibre: { category_id: "MLA1055" } } })).toEqual({
      product_id: 1,
      marketplace_ids: [2],
      enhance: true,
      options: { mercadolibre: { category_id: "MLA1055" } },
    });
    expect(PublishBodySchema.safeParse({ product_id: 1, marketplace_ids: [2, 2] }).success).toBe(false);
    expect(PublishBodySchema.safeParse({ product_id: 1, marketplace_ids: [] }).success).toBe(false);
  });
});
