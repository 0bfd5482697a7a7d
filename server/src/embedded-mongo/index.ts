export { startEmbeddedMongo, embeddedMongoAt, type EmbeddedMongo, type EmbeddedMongoOptions } from "./server.js";
export { inProcessClientOptions, type DriverModule } from "./in-process.js";
export { Engine } from "./engine.js";
export { directCommands, type DirectClient } from "./direct.js";
