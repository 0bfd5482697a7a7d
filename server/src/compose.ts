/**
 * The composition root: every feature is built here and handed what it needs; no feature builds a
 * sibling. Reactions to task status changes are wired here too, as listeners of the lifecycle's
 * events (`services.lifecycle.events.on("task.status_changed", …)`).
 */
import type { Connection } from "mongoose";
import type { Logger } from "pino";
import type { AppConfig } from "./app.js";
import { authModels } from "./auth/model.js";
import { scryptParams } from "./auth/passwords.js";
import { AuthService } from "./auth/service.js";
import { BrandService } from "./brands/service.js";
import type { ApiRouter } from "./http/define-route.js";
import type { BackgroundService } from "./lifecycle/services.js";
import { createMonitoring, type Monitoring } from "./monitoring/index.js";
import { registerMonitoringRoutes } from "./monitoring/routes.js";
import { registerPersistenceRoutes } from "./persistence/routes.js";
import { PersistenceService } from "./persistence/service.js";
import { createPluginModule, type PluginModule } from "./plugin/index.js";
import { createScheduling, type Scheduling } from "./scheduling/index.js";
import { TaskExecution } from "./tasks/executor/index.js";
import { builtInTaskTypes } from "./tasks/handlers/index.js";
import { ENDED_STATUSES, TaskLifecycle } from "./tasks/lifecycle/index.js";
import type { Task } from "./tasks/model.js";
import type { TaskStatus } from "../../shared/tasks.js";
import { PluginTaskGateway } from "./publication/vinted-gateway.js";
import { QueuedTaskQuota } from "./tasks/quota.js";
import { QueuedTaskCounts } from "./tasks/queued-count.js";
import { RepeatingWork } from "./lifecycle/repeating.js";
import { registerTaskRoutes } from "./tasks/routes.js";
import { TaskService } from "./tasks/service.js";
import { VintedResultApplier } from "./vinted/apply-results.js";
import { registerVintedRoutes } from "./vinted/routes.js";
import { VintedService } from "./vinted/service.js";
import { createEnhancer, type Enhancer } from "./enhancement/index.js";
import { createMarketplacesModule, type MarketplacesModule } from "./marketplaces/index.js";
import { createProductsModule, type ProductsModule } from "./products/index.js";
import { createSecretBox } from "./secrets/index.js";
import { createWebhooksModule, type WebhooksModule } from "./webhooks/index.js";
import { createPublicationModule, PUBLICATION_TASK_TYPE, PublicationBatchPlanner, type PublicationModule } from "./publication/index.js";
import { createBatchesModule, type BatchesModule } from "./batches/index.js";
import { createRetentionModule } from "./retention/index.js";
import type { RetentionService } from "./retention/service.js";
import { BulkOperationsParamsSchema, bulkOperationsHandler } from "./tasks/handlers/bulk-operations.js";
import { ContentParamsSchema, contentHandler } from "./tasks/handlers/content-generation.js";
import { CrawlParamsSchema } from "./tasks/handlers/site/crawler.js";
import { siteHandler } from "./tasks/handlers/site/site-tasks.js";
import { productModels } from "./products/model.js";
import { vintedModels } from "./vinted/model.js";
import { PluginCatalogSearches, cancelSearchesOfCancelledTasks } from "./plugin/catalog-searches.js";
import { CompetitorAnalysisParamsSchema, competitorAnalysisHandler } from "./tasks/handlers/seo/competitor-analysis.js";

export interface ComposeDeps {
  config: AppConfig;
  logger: Logger;
  connection: Connection;
  /** Shutdown has begun: held plugin long-polls are answered at once. */
  isDraining: () => boolean;
}

export interface Services {
  auth: AuthService;
  brands: BrandService;
  /** The only writer of task statuses; features listen to `lifecycle.events`. */
  lifecycle: TaskLifecycle;
  /** This process's share of server-task execution (started by main.ts or a test, never by createApp). */
  execution: TaskExecution;
  tasks: TaskService;
  /** Each brand's count of pending tasks (the queued quota reads it). */
  queuedCounts: QueuedTaskCounts;
  persistence: PersistenceService;
  /** Metrics, workers, alert rules and alerts (/tasks/monitoring/). */
  monitoring: Monitoring;
  /** Periodic tasks (/tasks/scheduled/). */
  scheduling: Scheduling;
  /** Extension tasks (vinted.*): creation, delivery, leases, results. */
  plugin: PluginModule;
  /** The seller's Vinted data that extension results fill. */
  vinted: VintedService;
  /** The brand's catalog and its photos. */
  products: ProductsModule;
  /** Marketplaces a brand publishes to, their connections and connectors. */
  marketplaces: MarketplacesModule;
  /** Brand webhook endpoints and signed deliveries. */
  webhooks: WebhooksModule;
  /** Listing copy for publication (ENHANCER_URL: chat-completions provider, else built-in). */
  enhancer: Enhancer;
  /** What is kept and for how long: the sweep of finished tasks, batches and old snapshots. */
  retention: RetentionService;
  /** Publishing products to marketplaces, and the product-tasks view. */
  publication: PublicationModule;
  /** Selling accounts, batches of jobs and the dashboard. */
  batches: BatchesModule;
}

export interface Composition {
  services: Services;
  /** Indexes (unique ones before the first request can race on them). */
  init(): Promise<void>;
  registerRoutes(api: ApiRouter): void;
  /** What main.ts runs beside the HTTP server, in start order (stopped in reverse). */
  background: BackgroundService[];
}

export function compose({ config, logger, connection, isDraining }: ComposeDeps): Composition {
  const brands = new BrandService(connection, authModels(connection).User, config.brandMembershipCacheMs);
  const auth = new AuthService(
    connection,
    {
      secret: config.jwtSecret,
      accessTokenTtlSeconds: config.accessTokenTtlSeconds,
      refreshTokenTtlSeconds: config.refreshTokenTtlSeconds,
      scrypt: scryptParams(config.authScryptCost),
      lockout: config.authLockout,
      sessionCacheMs: config.authSessionCacheMs,
    },
    brands,
    logger,
  );

  const taskConfig = config.tasks;
  const lifecycle = new TaskLifecycle(connection, logger, {
    retry: { retryBaseDelayMs: taskConfig.retryBaseMs, retryMaxDelayMs: taskConfig.retryMaxMs },
    runningLimitPerBrand: taskConfig.runningLimitPerBrand,
  });
  const registry = builtInTaskTypes(connection);
  const queuedCounts = new QueuedTaskCounts(
    connection,
    lifecycle.tasks,
    taskConfig.queuedCountQuietMs,
    logger.child({ module: "queued-count" }),
    taskConfig.queuedCountFlushMs,
  );
  const queuedQuota = new QueuedTaskQuota(queuedCounts, taskConfig.queuedLimitPerBrand);
  const queuedRecount = new RepeatingWork("queued count recount", Math.max(100, Math.round(taskConfig.queuedCountQuietMs / 3)), () => queuedCounts.sweep(), logger);
  lifecycle.useCreationCheck((brand, adding) => queuedQuota.reserve(brand, adding));
  const execution = new TaskExecution(connection, lifecycle, registry, logger, {
    processEveryMs: taskConfig.pollMs,
    slotSweepMs: taskConfig.slotSweepMs,
    concurrency: taskConfig.concurrency,
    cancelPollMs: taskConfig.cancelPollMs,
    progressThrottleMs: Math.min(500, taskConfig.pollMs),
    heartbeatMs: taskConfig.heartbeatMs,
    staleAfterMs: taskConfig.heartbeatMs * 3,
    autoResume: taskConfig.autoResume,
  });
  const tasks = new TaskService(connection, lifecycle, execution, registry);
  tasks.useMembership((userId) => brands.brandIdsOf(userId));
  const persistence = new PersistenceService(connection, lifecycle);
  const scheduling = createScheduling({ connection, tasks, catalog: registry, tickMs: taskConfig.schedulerTickMs, minIntervalSeconds: taskConfig.cronMinIntervalSeconds, logger });
  const monitoring = createMonitoring(
    connection,
    { staleAfterMs: taskConfig.heartbeatMs * 3, alertEvalMs: taskConfig.alertEvalMs, currentWorkerId: () => execution.workerId, pluginPolls: () => plugin.delivery.counters },
    logger,
  );
  const vinted = new VintedService(connection);
  const plugin = createPluginModule(lifecycle, new VintedResultApplier(vinted), logger, {
    config: config.plugin,
    isDraining,
    isSessionOpen: (principal) => auth.isSessionOpen(principal),
    memberBrandIds: (userId) => brands.brandIdsOf(userId),
  });
  tasks.useExternalTaskTypes(plugin.tasks);
  const secrets = createSecretBox(config, logger);
  const products = createProductsModule(connection, config.catalog, secrets);
  const marketplaces = createMarketplacesModule(connection, config.marketplaces, secrets);
  const webhooks = createWebhooksModule(connection, config.webhooks, secrets);
  const enhancer = createEnhancer(config.enhancer);
  const publication = createPublicationModule(lifecycle, registry, {
    products: products.products,
    marketplaces: marketplaces.service,
    webhooks: webhooks.service,
    enhancer,
    policy: { maxRetries: 3, baseDelayMs: taskConfig.retryBaseMs, maxDelayMs: taskConfig.retryMaxMs },
  }, logger);
  const batches = createBatchesModule(
    connection,
    {
      lifecycle,
      enqueueMany: (tasks) => execution.enqueueMany(tasks),
      wakeSeller: (task) => plugin.delivery.wakeSeller(task, true),
      serverTypes: registry,
      assertQueueRoom: (brand, adding) => queuedQuota.assertRoom(brand, adding),
    },
    logger,
    { pollRateLimit: config.pollRateLimit, countsQuietMs: config.batchCountsQuietMs },
  );

  // "Publish to…" for many products: a batch of publications, one per product and marketplace.
  execution.lostRuns.useThrottledBatches((ids) => batches.throttledBatches(ids));
  batches.batches.usePlanner(PUBLICATION_TASK_TYPE, new PublicationBatchPlanner(lifecycle.tasks, products.products, marketplaces.service));

  // Registered once batches exist: a bulk operation is a batch of jobs of another type.
  registry.register("bulk_operations", {
    handler: bulkOperationsHandler((userId, brandId, body) => batches.batches.create({ userId, sessionId: "" }, { brandId, role: "member" }, body)),
    params: BulkOperationsParamsSchema,
    description: "Start a batch of jobs of another type (context_data: the batch body); the batch id in the result",
  });

  // Competitor analysis also reads Vinted's catalog through the seller's extension (vinted.search_items).
  registry.register("seo_competitor_analysis", {
    handler: competitorAnalysisHandler(vintedModels(connection), new PluginCatalogSearches(lifecycle, plugin.tasks)),
    params: CompetitorAnalysisParamsSchema,
    description: "Each listing against similar ones: of the wardrobe (same brand and size) and, through the extension, of other sellers on Vinted (price position, title words)",
  });
  cancelSearchesOfCancelledTasks(lifecycle, "seo_competitor_analysis");

  // Listing copy through the publication pipeline's enhancer, on the catalog.
  const contentDeps = { enhancer, products: productModels(connection), catalog: products.products };
  for (const [mode, description] of [
    ["ai_content_generation", "Generate listing copy (title, description, keywords) for catalog products"],
    ["content_optimization", "Propose better copy for catalog products, scored; applied only with apply: true"],
    ["meta_tags_generation", "Meta title, description, keywords and Open Graph tags for catalog products"],
  ] as const) {
    registry.register(mode, { handler: contentHandler(mode, contentDeps), params: ContentParamsSchema, description });
  }

  // The seller's own shop website, crawled under the webhooks' address rules.
  for (const [kind, description] of [
    ["website_structure_analysis", "Crawl the shop's website (context_data.url): titles, descriptions, headings, broken links, redirects"],
    ["page_performance_audit", "Crawl the shop's website: time to first byte, page weight, scripts, images without alt"],
    ["sitemap_generation", "Crawl the shop's website and build the XML sitemap of its indexable pages"],
  ] as const) {
    registry.register(kind, { handler: siteHandler(kind, config.webhooks.allowPrivateNetworks), params: CrawlParamsSchema, description });
  }

  // A task that becomes claimable goes to whoever runs it: an Agenda run for server tasks, a
  // wake-up of the seller's held long-poll for extension tasks.
  lifecycle.events.on("task.created", ({ task }) => execution.queueWhenPending(task));
  lifecycle.events.on("task.status_changed", ({ task }) => execution.queueWhenPending(task));
  // A brand's run that ends frees one of its running slots for a task waiting for it.
  lifecycle.events.on("task.status_changed", execution.onRunEnded);
  lifecycle.events.on("tasks.bulk_status_changed", execution.onBulkRunsEnded);
  lifecycle.events.on("task.awaiting_slot", execution.onAwaitingSlot);
  lifecycle.events.on("task.created", ({ task }) => plugin.delivery.wakeSeller(task));
  lifecycle.events.on("task.status_changed", ({ task }) => plugin.delivery.wakeSeller(task));
  const retention = createRetentionModule(connection, { tasks: lifecycle.tasks, batches: batches.batches.batches }, config.retention, logger);

  // Vinted publications are handed to the seller's extension; the publication waits (suspended,
  // no worker held) and runs again once that extension task ends, or is removed.
  marketplaces.service.connectors.vinted.useGateway(new PluginTaskGateway(lifecycle, plugin.tasks));
  const resumeWaiters = async (task: Task) => {
    // Ends the listener did not look at (a mark it raced, a process that died) are resumed by the
    // executor's periodic recovery (resumeEndedWaits).
    if (task.executor === "extension" && task.awaited === true) await lifecycle.resumeWaitersOf(task.task_id);
  };
  lifecycle.events.on("task.status_changed", async ({ to, task }) => {
    if ((ENDED_STATUSES as readonly TaskStatus[]).includes(to)) await resumeWaiters(task);
  });
  lifecycle.events.on("task.deleted", ({ task }) => resumeWaiters(task));
  // Last: a new task is handed to its runner before its brand's count moves.
  queuedCounts.follow(lifecycle.events);

  return {
    services: {
      auth,
      brands,
      lifecycle,
      execution,
      tasks,
      queuedCounts,
      persistence,
      monitoring,
      scheduling,
      plugin,
      vinted,
      products,
      marketplaces,
      webhooks,
      enhancer,
      publication,
      batches,
      retention: retention.service,
    },
    init: async () => {
      await Promise.all([auth.init(), brands.init()]);
      await tasks.init();
      await queuedCounts.init();
      await monitoring.init();
      await scheduling.init();
      await vinted.init();
      await Promise.all([products.init(), marketplaces.init(), webhooks.init(), batches.init()]);
    },
    registerRoutes(api) {
      // Express tries routes in order, and every extension polls every few seconds: its routes come first.
      plugin.registerRoutes(api);
      registerTaskRoutes(api, tasks);
      registerPersistenceRoutes(api, persistence);
      scheduling.registerRoutes(api);
      registerMonitoringRoutes(api, monitoring);
      registerVintedRoutes(api, vinted);
      products.registerRoutes(api);
      marketplaces.registerRoutes(api);
      webhooks.registerRoutes(api);
      publication.registerRoutes(api);
      batches.registerRoutes(api);
    },
    background: [
      auth.revocations,
      { name: "task-execution", start: () => execution.start(), stop: () => execution.stop() },
      { name: "alert-evaluator", start: () => monitoring.evaluator.start(), stop: () => monitoring.evaluator.stop() },
      { name: "scheduler", start: () => scheduling.ticker.start(), stop: () => scheduling.ticker.stop() },
      plugin.service,
      batches.recount,
      {
        name: "queued-count-recount",
        start: async () => queuedRecount.start(),
        stop: async () => {
          await queuedRecount.stop();
          await queuedCounts.flush();
        },
      },
      retention.background,
    ],
  };
}
