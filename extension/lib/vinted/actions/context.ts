import type { HeartbeatProgress, PluginErrorCode } from "../../../../shared/plugin";
import type { PhotoBytes, VintedApi, CurrentUser } from "../api";

export interface PhotoSource {
  /** Downloads a photo from MarketHub (the background holds the server credentials). */
  fetch(url: string): Promise<PhotoBytes>;
}

export interface ActionContext {
  api: VintedApi;
  /** The Vinted country site of the tab, e.g. https://www.vinted.fr */
  origin: string;
  currency: string;
  anonId(): string | null;
  currentUser(): Promise<CurrentUser>;
  report(progress: HeartbeatProgress): void;
  photos: PhotoSource;
  /**
   * True when an earlier run of this task may have reached Vinted (lease re-issued, or the
   * extension lost track of a run): writes must look at Vinted before writing again.
   */
  outcomeUnknown: boolean;
  signal: AbortSignal;
}

export type ActionOutcome =
  | { success: true; data: unknown }
  | { success: false; error: string; error_code: PluginErrorCode; data?: unknown; retry_after_ms?: number };
