/** What the plugin suites share: a server, a seller, and the extension's side of the contract. */
import { expect } from "vitest";
import type { ClaimedTask, PluginAction, PluginTaskView } from "../../shared/plugin.js";
import { allBrands } from "../../server/src/brands/scope.js";
import { taskModel, type Task } from "../../server/src/tasks/model.js";
import type { RegisteredUser, TestServer } from "../helpers/app.js";

export type Body = Record<string, unknown>;

/** Valid params for every action (the extension's contract, shared/plugin.ts). */
export const VALID_PARAMS: Record<PluginAction, Body> = {
  get_user_data: {},
  get_all_products: { user_id: 29535217 },
  create_product: {
    title: "T-shirt Nike Noir",
    description: "T-shirt Nike en excellent état",
    price: "15.00",
    brand_id: 53,
    size_id: 206,
    catalog_id: 5,
    color_ids: [1],
    status_ids: [6],
  },
  update_product: { item_id: 123456, price: "12.00", description: "Prix réduit !" },
  delete_product: { item_id: 123456 },
  update_prices: { updates: [{ item_id: 123, price: "10.00" }, { item_id: 456, price: "15.00" }] },
  get_stats: { item_id: 123456 },
  upload_photo: { item_id: 123456, photo_url: "https://backend.example.com/photos/abc.jpg" },
  search_items: { search_text: "veste carhartt", brand_ids: [362], size_ids: [207], order: "relevance", per_page: 48, max_pages: 1 },
};

/** Params each action refuses, and the field the 400 must name. */
export const INVALID_PARAMS: Record<PluginAction, { params: unknown; field: string }> = {
  get_user_data: { params: "not an object", field: "params" },
  get_all_products: { params: { user_id: -4 }, field: "params.user_id" },
  create_product: { params: { ...VALID_PARAMS.create_product, price: "15,00" }, field: "params.price" },
  update_product: { params: { item_id: 123456 }, field: "params" },
  delete_product: { params: {}, field: "params.item_id" },
  update_prices: { params: { updates: [] }, field: "params.updates" },
  get_stats: { params: { item_id: "123" }, field: "params.item_id" },
  upload_photo: { params: { photo_url: "not a url" }, field: "params.photo_url" },
  search_items: { params: { per_page: 20 }, field: "params" },
};

/** Result data the extension sends per action. */
export function resultDataFor(action: PluginAction, params: Body = VALID_PARAMS[action]): unknown {
  switch (action) {
    case "get_user_data":
      return { user_id: 29535217, login: "shop.ton.outfit", email: "user@example.com", anon_id: "6f64", real_name: "John Doe", business_account: null, origin: "https://www.vinted.fr", item_count: 3 };
    case "get_all_products":
      return { products: [listing(1, "A"), listing(2, "B")], total: 2, complete: true, pages: 1 };
    case "create_product":
      return { item: { id: 789456, title: params.title, price: params.price, url: "https://www.vinted.fr/items/789456" } };
    case "update_product":
      return { item: { id: params.item_id, price: params.price } };
    case "delete_product":
      return { success: true, item_id: params.item_id };
    case "update_prices":
      return { updated: 2, failed: 0, total: 2, results: [{ item_id: 123, success: true }, { item_id: 456, success: true }] };
    case "get_stats":
      return { item_id: params.item_id, view_count: 125, favourite_count: 8, message_count: null, captured_at: new Date().toISOString() };
    case "upload_photo":
      return { photo_id: 99, temp_uuid: "uuid-1", url: null, item_id: params.item_id, attached: true };
    case "search_items":
      return { items: [{ id: 5001, title: "Veste Carhartt Detroit", price: { amount: "45.00", currency_code: "EUR" }, user: { id: 77, login: "other" } }], total_entries: 1, pages_read: 1 };
  }
}

/** A wardrobe listing as Vinted sends it. */
export function listing(id: number, title: string, extra: Body = {}): Body {
  return {
    id,
    title,
    price: { amount: `${id}.50`, currency_code: "EUR" },
    brand: "Nike",
    size: "M",
    status: "Très bon état",
    is_draft: false,
    is_closed: false,
    is_reserved: false,
    is_hidden: false,
    view_count: id * 10,
    favourite_count: id,
    url: `https://www.vinted.fr/items/${id}`,
    photos: [{ id: id * 100, url: `https://images.vinted.net/${id}.jpg` }],
    ...extra,
  };
}

export function resultBody(lease_token: string, success: boolean, data?: unknown, extra: Body = {}): Body {
  return { lease_token, success, ...(data === undefined ? {} : { data }), execution_time_ms: 1500, executed_at: "2024-12-07T10:00:15Z", ...extra };
}

export class Seller {
  constructor(
    readonly server: TestServer,
    readonly user: RegisteredUser,
  ) {}

  get id(): number {
    return this.user.user.id;
  }

  get token(): string {
    return this.user.access_token;
  }

  request<T = Body>(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}) {
    return this.server.request<T>(method, path, { token: this.token, ...options });
  }

  async create(action: PluginAction, params: Body = VALID_PARAMS[action], extra: Body = {}): Promise<PluginTaskView> {
    const res = await this.request<PluginTaskView>("POST", "/api/plugin/tasks", { body: { action, params, ...extra } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return res.body;
  }

  async poll(query = ""): Promise<ClaimedTask | { task_id: null; message: string }> {
    const res = await this.request<ClaimedTask | { task_id: null; message: string }>("GET", `/api/plugin/tasks${query}`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body;
  }

  async claim(): Promise<ClaimedTask> {
    const body = await this.poll();
    expect(body.task_id).not.toBeNull();
    return body as ClaimedTask;
  }

  heartbeat(taskId: string, body: Body) {
    return this.request("POST", `/api/plugin/tasks/${taskId}/heartbeat`, { body });
  }

  result(taskId: string, body: Body) {
    return this.request("POST", `/api/plugin/tasks/${taskId}/result`, { body });
  }

  async view(taskId: string): Promise<PluginTaskView> {
    const res = await this.request<PluginTaskView>("GET", `/api/plugin/tasks/${taskId}`);
    expect(res.status).toBe(200);
    return res.body;
  }
}

export async function newSeller(server: TestServer): Promise<Seller> {
  return new Seller(server, await server.register());
}

/** The stored task document (tests look behind the API, e.g. to let a lease run out). */
export async function storedTask(server: TestServer, taskId: string): Promise<Task> {
  const task = await allBrands(taskModel(server.db.connection).findOne({ task_id: taskId }).lean<Task>());
  if (!task) throw new Error(`no task ${taskId}`);
  return task;
}

/** Time passes: the task's lease ended a second ago. */
export async function expireLease(server: TestServer, taskId: string): Promise<void> {
  await allBrands(taskModel(server.db.connection).updateOne({ task_id: taskId }, { $set: { lease_expires_at: new Date(Date.now() - 1000) } }));
}

export function pluginLeases(server: TestServer) {
  return server.description.services.plugin.leases;
}
