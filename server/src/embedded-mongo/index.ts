export { startEmbeddedMongo, type EmbeddedMongo, type EmbeddedMongoOptions } from "./server.js";
export { Engine } from "./engine.js";
