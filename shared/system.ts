/** Liveness, readiness and API description endpoints. */
import { z } from "zod";

export const HealthResponseSchema = z.object({ status: z.literal("ok") }).meta({ id: "Health" });

export const ReadinessResponseSchema = z
  .object({ status: z.literal("ready"), database: z.literal("up") })
  .meta({ id: "Readiness" });

export const OpenApiDocumentSchema = z
  .object({
    openapi: z.string(),
    info: z.object({ title: z.string(), version: z.string() }),
    paths: z.unknown().optional(),
    components: z.unknown().optional(),
  })
  .meta({ description: "An OpenAPI 3.1 document" });
