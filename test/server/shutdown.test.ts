import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { onRealMongo } from "../helpers/mongo.js";
import { startServerProcess, type ServerProcess } from "../helpers/process.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "markethub-shutdown-"));
const running: ServerProcess[] = [];
afterAll(() => {
  for (const proc of running) proc.child.kill("SIGKILL");
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function start(): ServerProcess {
  // No JWT_SECRET: the development secret is generated in DATA_DIR and must survive the restart.
  const proc = startServerProcess({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info", ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {}) });
  running.push(proc);
  return proc;
}

/** A request whose body is only half sent: in flight until `finish` is called. */
async function halfSentRequest(port: number, body: string) {
  const socket = net.connect(port, "127.0.0.1");
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  let answer = "";
  socket.on("data", (chunk: Buffer) => (answer += chunk.toString()));
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const head = `POST /api/v1/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  const half = Math.floor(body.length / 2);
  socket.write(head + body.slice(0, half));
  return {
    finish: async () => {
      socket.write(body.slice(half));
      await closed;
      return answer;
    },
  };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("graceful shutdown", () => {
  it("on SIGTERM: stops accepting, finishes the request in flight, closes the database, exits 0", async () => {
    const email = "inflight@example.com";
    const password = "a long enough password";
    const first = start();
    const port = await first.listening();

    const inFlight = await halfSentRequest(port, JSON.stringify({ email, password }));
    await delay(200);
    first.child.kill("SIGTERM");
    await delay(300);

    expect(first.child.exitCode).toBeNull(); // still waiting for our request
    await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow(); // no new connections
    const answer = await inFlight.finish();
    expect(answer).toMatch(/^HTTP\/1\.1 201/);
    expect(answer.toLowerCase()).toContain("connection: close");
    expect(await first.exited).toBe(0);
    expect(first.stdout()).toContain('"msg":"stopped"');

    // What was written before the stop is there after a restart (journal flushed, same secret).
    const second = start();
    const port2 = await second.listening();
    const login = await fetch(`http://127.0.0.1:${port2}/api/v1/auth/login`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email, password }),
    });
    expect(login.status).toBe(200);
    if (!onRealMongo) expect(fs.existsSync(path.join(dataDir, "db"))).toBe(true);
    second.child.kill("SIGINT");
    expect(await second.exited).toBe(0);
  });
});
