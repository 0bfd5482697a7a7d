/** data_export's CSV is opened in spreadsheets: a cell must never be read there as a formula. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/app.js";
import { TaskApi } from "./fixtures/tasks.js";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server?.close());

describe("data_export as CSV", () => {
  it("neutralises cells starting with =, +, -, @, tab or CR (a leading quote), and keeps the text", async () => {
    const user = await server.register();
    const api = new TaskApi(server.request, user.access_token);
    const messages = ['=HYPERLINK("http://evil.example","x")', "+1+2", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd", "plain, text"];
    const failed = [];
    for (const fail_message of messages) {
      failed.push(await api.create({ task_type: "simulated", max_retries: 0, context_data: { fail_permanently: true, fail_message, steps: 1, step_ms: 1 } }));
    }
    for (const task of failed) expect((await api.waitForFinish(task.id)).status).toBe("failed");
    const exportTask = await api.create({ task_type: "data_export", context_data: { format: "csv", status: "failed" } });
    const done = await api.waitForFinish(exportTask.id);
    expect(done.status).toBe("completed");
    const content = (done.result_data as { content: string }).content;
    const [header, ...rows] = parseCsv(content);
    const column = header.indexOf("error_message");
    expect(rows.map((row) => row[column]).sort()).toEqual(
      ["'=HYPERLINK(\"http://evil.example\",\"x\")", "'+1+2", "'-2+3", "'@SUM(A1)", "'\tcmd", "'\rcmd", "plain, text"].sort(),
    );
    // No cell of the file starts with a formula character.
    for (const row of rows) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });
});

/** RFC 4180: quoted cells may hold commas, quotes (doubled) and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [[]];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') (cell += '"'), i++;
      else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") rows[rows.length - 1].push(cell), (cell = "");
    else if (ch === "\n") rows[rows.length - 1].push(cell), (cell = ""), rows.push([]);
    else cell += ch;
  }
  rows[rows.length - 1].push(cell);
  return rows;
}
