import type { EnhancerConfig } from "../config.js";
import { BuiltInEnhancer } from "./builtin.js";
import type { Enhancer } from "./enhancer.js";
import { ChatCompletionsEnhancer } from "./openai.js";

export * from "./enhancer.js";
export { BuiltInEnhancer } from "./builtin.js";
export { ChatCompletionsEnhancer } from "./openai.js";

/** ENHANCER_URL set: the chat-completions provider; otherwise the built-in enhancer. */
export function createEnhancer(config: EnhancerConfig): Enhancer {
  return config.url ? new ChatCompletionsEnhancer({ ...config, url: config.url }) : new BuiltInEnhancer();
}
