/**
 * Publication at size.
 *
 * 1. 1,000 products published to MercadoLibre (the fake of test/fixtures, on loopback): the
 *    publish calls made at once (50 in flight), while the server's workers run enhancement →
 *    publication → webhook (no endpoint registered). Throughput (publications completed per second, first publish to last
 *    completion) and per-publication latency (task created → completed), p50 and p95.
 * 2. GET …/listings/product-tasks/{id}/ for a product with 10 publication tasks vs one with 1,000
 *    (the default page of 50, summaries over all): medians and their ratio.
 *
 * App in this process with its task execution (production settings, TASK_CONCURRENCY workers),
 * engine in its own process with its journal.
 */
import { PUBLICATION_TASK_TYPE } from "../server/src/publication/index.js";
import { allBrands } from "../server/src/brands/scope.js";
import type { NewTask } from "../server/src/tasks/lifecycle/index.js";
import { startFakeMercadoLibre } from "../test/fixtures/fake-mercadolibre/index.js";
import { startBenchApp } from "./app.js";
import { medianMs, opsPerSecond, row } from "./lib.js";

const PUBLICATIONS = 1_000;
const READS = 100;
/** Publish calls in flight (a thousand sockets at once overflow the listen backlog). */
const PUBLISH_IN_FLIGHT = 50;
const FAR_FUTURE = new Date("2999-01-01T00:00:00Z");
const MERCADOLIBRE = 2;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

export async function runPublicationBench(): Promise<void> {
  console.log("\nPublication (app and task execution in this process, fake MercadoLibre on loopback, engine in its own process; production settings)");
  const ml = await startFakeMercadoLibre();
  const { services, call, close } = await startBenchApp("publication", { MERCADOLIBRE_API_URL: ml.url, TASK_POLL_MS: "100" }).catch(async (err: unknown) => {
    await ml.close();
    throw err;
  });
  try {
    await services.execution.start();
    const mlToken = ml.state.issueToken({ userId: 990001 });
    await call("PUT", `/api/v1/marketplaces/${MERCADOLIBRE}/connection`, {
      access_token: mlToken.accessToken,
      refresh_token: mlToken.refreshToken,
      client_id: mlToken.clientId,
      client_secret: mlToken.clientSecret,
      site_id: "MLA",
      user_id: 990001,
    });
    const productIds: number[] = [];
    for (let i = 0; i < PUBLICATIONS + 2; i++) {
      const product = await call("POST", "/api/v1/products/", {
        title: `Zapatillas urbanas modelo ${i} talle 42 color blanco`,
        sku: `BENCH-${i}`,
        price: 50000 + i,
        currency: "ARS",
        condition: "very_good",
        attributes: { mercadolibre_category_id: "MLA109027" },
      });
      productIds.push(product.id as number);
    }

    // 1. 1,000 publications.
    const started = performance.now();
    const taskIds: string[] = [];
    await opsPerSecond(PUBLICATIONS, PUBLISH_IN_FLIGHT, async (i) => {
      const answer = await call("POST", "/api/v1/marketplaces/listings/publish/", { product_id: productIds[i], marketplace_ids: [MERCADOLIBRE] });
      taskIds.push((answer.tasks as Array<{ task_id: string }>)[0].task_id);
    });
    const tasks = services.lifecycle.tasks;
    const brand = (await allBrands(tasks.findOne({ task_id: taskIds[0] }, { brand: 1 }).lean()))!.brand;
    // A cheap indexed count (brand, status), so that watching does not load the engine being measured.
    while ((await tasks.countDocuments({ brand, status: { $in: ["pending", "running"] } })) > 0) await new Promise((resolve) => setTimeout(resolve, 250));
    const seconds = (performance.now() - started) / 1000;
    const done = await allBrands(tasks.find({ task_id: { $in: taskIds } }, { status: 1, created_at: 1, started_at: 1, completed_at: 1 }).lean());
    const failed = done.filter((t) => t.status !== "completed").length;
    if (failed > 0 || ml.state.listings.length !== PUBLICATIONS) throw new Error(`${failed} publications failed, ${ml.state.listings.length} listings on the fake`);
    const latencies = done.map((t) => t.completed_at!.getTime() - t.created_at.getTime()).sort((a, b) => a - b);
    row(`${PUBLICATIONS.toLocaleString("en-US")} publications to MercadoLibre (fake)`, PUBLICATIONS / seconds, "publications/s");
    row("  per publication, created → completed, p50", percentile(latencies, 50), "ms");
    row("  per publication, created → completed, p95", percentile(latencies, 95), "ms");
    const runs = done.map((t) => t.completed_at!.getTime() - t.started_at!.getTime()).sort((a, b) => a - b);
    row("  per publication, its run (last claim → completed), p50", percentile(runs, 50), "ms");
    row("  per publication, its run (last claim → completed), p95", percentile(runs, 95), "ms");
    row("  listings on the fake (exactly one each)", ml.state.listings.length);
    await services.execution.stop();

    // 2. product-tasks with 10 vs 1,000 tasks (failed publications: they do not block one another).
    const [few, many] = productIds.slice(PUBLICATIONS);
    const seed = (productId: number, n: number): NewTask[] =>
      Array.from({ length: n }, (_, i) => ({
        task_id: `task_bench_${productId}_${i}`,
        brand,
        created_by: 1,
        task_type: PUBLICATION_TASK_TYPE,
        priority: "normal",
        description: `Publish product ${productId}`,
        context_data: { product_id: productId, marketplace_id: MERCADOLIBRE, enhance: true, options: {} },
        // Never due: they are read, not run.
        scheduled_for: FAR_FUTURE,
      }));
    await services.lifecycle.createMany([...seed(few, 10), ...seed(many, 1_000)]);
    const read = (productId: number) => () => call("GET", `/api/v1/marketplaces/listings/product-tasks/${productId}/`);
    const fewMs = await medianMs(READS, read(few), 10);
    const manyMs = await medianMs(READS, read(many), 10);
    row("product-tasks, product with 10 tasks (median)", fewMs, "ms");
    row("product-tasks, product with 1,000 tasks (median, page of 50)", manyMs, "ms");
    row("  ratio 1,000 / 10", manyMs / fewMs, "×");
  } finally {
    await close();
    await ml.close();
  }
}
