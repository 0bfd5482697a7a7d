/**
 * Background services (the Agenda scheduler next) run beside the HTTP server: started after the
 * database is up, stopped before it is closed, in reverse order of start.
 */
import type { Logger } from "pino";

export interface BackgroundService {
  readonly name: string;
  start(): Promise<void>;
  /** Finish or hand back work in progress; must resolve even if start() never completed. */
  stop(): Promise<void>;
}

export class ServiceGroup {
  private readonly started: BackgroundService[] = [];

  constructor(
    private readonly services: readonly BackgroundService[],
    private readonly logger: Logger,
  ) {}

  async startAll(): Promise<void> {
    for (const service of this.services) {
      await service.start();
      this.started.push(service);
      this.logger.info({ service: service.name }, "service started");
    }
  }

  /** Every service gets its stop() even if an earlier one fails; failures are logged, not thrown. */
  async stopAll(): Promise<void> {
    for (const service of this.started.splice(0).reverse()) {
      try {
        await service.stop();
        this.logger.info({ service: service.name }, "service stopped");
      } catch (err) {
        this.logger.error({ err, service: service.name }, "service failed to stop cleanly");
      }
    }
  }
}
