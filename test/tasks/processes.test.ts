/**
 * Task execution across real server processes (`npm start`'s entry point) sharing one database:
 * two processes sharing 100 tasks (each run exactly once), a process stopped with SIGTERM in the
 * middle of a job (handed over), and a process killed with SIGKILL in the middle of a checkpointing
 * job — resumed by the survivor by itself (TASK_AUTO_RESUME=true), or listed as resumable and
 * resumed on request (TASK_AUTO_RESUME=false).
 *
 * Process starts dominate the time (tsx), so the suites share their processes: cluster 1 (auto
 * resume) serves the first three tests, a third process joining it on the way; cluster 2 (no auto
 * resume, its own database) starts in the background during the SIGTERM test, which mostly waits.
 * Which process of a pair claims a job is not decided by the test: the one that did is read from
 * the checkpoints' worker ids.
 *
 * Heartbeats every second: a worker is dead when silent for 3 s, or at once when its pid is gone
 * (same host) — so a SIGKILL is noticed within the recovery interval (1 s) whatever the heartbeat,
 * while a process merely slowed down by a loaded machine is not taken for dead.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CheckpointListResponseSchema, PersistentJobListResponseSchema, type CheckpointView } from "../../shared/persistence.js";
import type { TaskView } from "../../shared/tasks.js";
import { startCluster, type ChildServer, type Cluster } from "./fixtures/cluster.js";
import { TaskApi, sleep, waitFor } from "./fixtures/tasks.js";

/** Test-speed execution. */
const FAST = { TASK_POLL_MS: "100", TASK_HEARTBEAT_MS: "1000", TASK_CANCEL_POLL_MS: "100", TASK_RETRY_BASE_MS: "100" };

let autoResume: Cluster;
let manualResume: Promise<Cluster> | null = null;
function startManualResumeCluster(): Promise<Cluster> {
  if (!manualResume) {
    manualResume = startCluster(["c", "d"], { ...FAST, TASK_AUTO_RESUME: "false" });
    manualResume.catch(() => undefined); // awaited (and reported) by its test
  }
  return manualResume;
}
beforeAll(async () => {
  autoResume = await startCluster(["a", "b"], { ...FAST, TASK_AUTO_RESUME: "true" });
}, 60_000);
afterAll(async () => {
  await Promise.all([autoResume?.close(), manualResume?.then((c) => c.close(), () => undefined)]);
});

const alive = (c: Cluster) => c.servers.filter((s) => s.alive());

async function userOn(server: ChildServer): Promise<TaskApi> {
  const res = await server.request<{ access_token: string }>("POST", "/api/v1/auth/register", {
    body: { email: `proc-${Date.now()}-${Math.random().toString(16).slice(2)}@example.com`, password: "a long enough password" },
  });
  expect(res.status).toBe(201);
  return new TaskApi(server.request, res.body.access_token);
}

/** The same user, through another process (one secret, one database: the token works everywhere). */
const via = (api: TaskApi, server: ChildServer) => new TaskApi(server.request, api.token);

async function checkpointsOf(api: TaskApi, taskId: string): Promise<CheckpointView[]> {
  const res = await api.call("GET", `/tasks/persistent-jobs/checkpoints/?task_id=${taskId}&page_size=100`);
  expect(res.status).toBe(200);
  return CheckpointListResponseSchema.parse(res.body).results;
}

/** Starts a checkpointing job and waits until `atLeast` checkpoints are saved; answers the process running it. */
async function jobUnderWay(api: TaskApi, c: Cluster, steps: number, stepMs: number, atLeast = 3): Promise<{ task: TaskView; owner: ChildServer; others: ChildServer[] }> {
  const task = await api.create({ task_type: "simulated", context_data: { steps, step_ms: stepMs, checkpoint_every: 1 } });
  const saved = await waitFor(() => checkpointsOf(api, task.task_id), (cps) => cps.length >= atLeast, { what: `${atLeast} checkpoints`, timeoutMs: 10_000 });
  const owner = c.byWorkerId(saved[0].worker_id);
  return { task, owner, others: alive(c).filter((s) => s !== owner) };
}

/** Every step saved exactly once: the first ones by `first`'s worker, the rest by one other process. Answers where it switched. */
function expectHandOver(cps: CheckpointView[], steps: number, first: ChildServer, c: Cluster): { switchAt: number; second: ChildServer } {
  const byStep = [...cps].sort((a, b) => (a.state.step as number) - (b.state.step as number));
  expect(byStep.map((cp) => cp.state.step)).toEqual(Array.from({ length: steps }, (_, i) => i + 1));
  const owners = byStep.map((cp) => c.byWorkerId(cp.worker_id));
  const switchAt = owners.findIndex((o) => o !== first);
  expect(switchAt).toBeGreaterThan(0);
  const second = owners[switchAt];
  expect(owners.slice(0, switchAt).every((o) => o === first)).toBe(true);
  expect(owners.slice(switchAt).every((o) => o === second)).toBe(true);
  return { switchAt, second };
}

interface SimulatedResult {
  resumed_from_step: number;
  steps_executed_this_run: number;
  steps_completed: number;
  attempt: number;
}

describe("two processes sharing one database", () => {
  it("100 tasks: every one runs exactly once, and both processes take part", async () => {
    const [a, b] = autoResume.servers;
    const onA = await userOn(a);
    const onB = via(onA, b);
    const count = 100;
    const created: TaskView[] = [];
    for (let i = 0; i < count; i += 10) {
      const batch = Array.from({ length: 10 }, (_, j) => (j % 2 ? onB : onA).create({ task_type: "simulated", context_data: { steps: 2, step_ms: 20, checkpoint_every: 1 } }));
      created.push(...(await Promise.all(batch)));
    }
    expect(new Set(created.map((t) => t.id)).size).toBe(count);

    const page = await waitFor(
      () => onA.list("page_size=100"),
      (p) => p.results.every((t) => t.status === "completed" || t.status === "failed"),
      { timeoutMs: 30_000, intervalMs: 200, what: "every task to finish" },
    );
    expect(page.count).toBe(count);
    for (const t of page.results) {
      expect(t, t.task_id).toMatchObject({ status: "completed", retry_count: 0, result_data: { attempt: 1, resumed_from_step: 0, steps_executed_this_run: 2 } });
    }

    const all: CheckpointView[] = [];
    for (let p = 1; p <= 3; p++) {
      const res = await onB.call("GET", `/tasks/persistent-jobs/checkpoints/?page_size=100&page=${p}`);
      all.push(...CheckpointListResponseSchema.parse(res.body).results);
    }
    expect(all).toHaveLength(2 * count);
    const byTask = new Map<string, CheckpointView[]>();
    for (const cp of all) byTask.set(cp.task_id, [...(byTask.get(cp.task_id) ?? []), cp]);
    expect(byTask.size).toBe(count);
    const ranBy = new Map<ChildServer, number>();
    for (const [taskId, cps] of byTask) {
      expect(cps.map((cp) => cp.sequence).sort(), taskId).toEqual([1, 2]);
      expect(new Set(cps.map((cp) => cp.worker_id)).size, taskId).toBe(1);
      const server = autoResume.byWorkerId(cps[0].worker_id);
      ranBy.set(server, (ranBy.get(server) ?? 0) + 1);
    }
    expect(ranBy.get(a)).toBeGreaterThan(0);
    expect(ranBy.get(b)).toBeGreaterThan(0);
    expect((ranBy.get(a) ?? 0) + (ranBy.get(b) ?? 0)).toBe(count);
  });
});

describe("a worker stopped with SIGTERM in the middle of a job that outlasts its grace period", () => {
  it("exits 0 and hands the job over: another process resumes it from its checkpoint", async () => {
    const joining = autoResume.add("e"); // the third process, for the next test; it may take the job over too
    void startManualResumeCluster(); // for the last test
    try {
      const api = await userOn(alive(autoResume)[0]);
      const steps = 70; // 7 s: longer than the 5 s a stopping worker waits for its runs
      const { task, owner, others } = await jobUnderWay(api, autoResume, steps, 100, 2);
      expect(await owner.kill("SIGTERM")).toBe(0);
      expect(owner.proc.stdout()).toContain('"msg":"stopped"');

      const onOther = via(api, others[0]);
      const done = await onOther.waitForStatus(task.id, ["completed", "failed"], 15_000);
      expect(done.status).toBe("completed");
      const result = done.result_data as unknown as SimulatedResult;
      expect(result.resumed_from_step).toBeGreaterThan(2);
      expect(result.steps_executed_this_run).toBe(steps - result.resumed_from_step);
      expect(done.retry_count).toBe(0);
      expect(done.persistent_job).toMatchObject({ state: "completed", resume_count: 1 });
      const { switchAt } = expectHandOver(await checkpointsOf(onOther, task.task_id), steps, owner, autoResume);
      expect(switchAt).toBe(result.resumed_from_step);
    } finally {
      await joining;
    }
  });
});

describe("a worker killed with SIGKILL in the middle of a checkpointing job", () => {
  it("TASK_AUTO_RESUME=true: the other process resumes it from its checkpoint by itself", async () => {
    const live = alive(autoResume);
    expect(live).toHaveLength(2);
    const api = await userOn(live[0]);
    const steps = 40;
    const { task, owner, others } = await jobUnderWay(api, autoResume, steps, 50);
    expect(await owner.kill("SIGKILL")).toBe("SIGKILL");

    const onSurvivor = via(api, others[0]);
    const done = await onSurvivor.waitForStatus(task.id, ["completed", "failed"], 15_000);
    expect(done.status).toBe("completed");
    const result = done.result_data as unknown as SimulatedResult;
    expect(result.resumed_from_step).toBeGreaterThanOrEqual(3);
    expect(result.steps_executed_this_run).toBe(steps - result.resumed_from_step);
    expect(result.steps_executed_this_run).toBeLessThan(steps);
    expect(result.steps_completed).toBe(steps);
    expect(done.retry_count).toBe(0);
    expect(done.persistent_job).toMatchObject({ state: "completed", resume_count: 1 });
    const { switchAt, second } = expectHandOver(await checkpointsOf(onSurvivor, task.task_id), steps, owner, autoResume);
    expect(second).toBe(others[0]);
    expect(switchAt).toBe(result.resumed_from_step);
  });

  it("TASK_AUTO_RESUME=false: the job is listed as resumable; POST …/resume/ continues it from its checkpoint", async () => {
    const cluster = await startManualResumeCluster();
    const api = await userOn(cluster.servers[1]);
    const steps = 30;
    const { task, owner, others } = await jobUnderWay(api, cluster, steps, 50);
    await owner.kill("SIGKILL");

    const onSurvivor = via(api, others[0]);
    const interrupted = await onSurvivor.waitFor(task.id, (t) => t.status !== "running", "recovery of the dead worker's job", 10_000);
    expect(interrupted).toMatchObject({ status: "failed", retry_count: 0, persistent_job: { state: "interrupted", can_resume: true } });
    expect(interrupted.error_message).toContain("Interrupted");
    const resumable = PersistentJobListResponseSchema.parse((await onSurvivor.call("GET", "/tasks/persistent-jobs/persistent-jobs/resumable/")).body);
    expect(resumable.results.map((j) => j.task_id)).toEqual([task.task_id]);
    const from = resumable.results[0].last_checkpoint!.state.step as number;
    expect(from).toBeGreaterThanOrEqual(3);

    // Nothing happens by itself.
    await sleep(400);
    expect((await onSurvivor.get(task.id)).status).toBe("failed");

    const res = await onSurvivor.call("POST", `/tasks/persistent-jobs/persistent-jobs/${task.id}/resume/`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ new_status: "pending", resumed_from_checkpoint: from });
    const done = await onSurvivor.waitForStatus(task.id, ["completed", "failed"], 10_000);
    expect(done.status).toBe("completed");
    expect(done.result_data).toMatchObject({ resumed_from_step: from, steps_executed_this_run: steps - from, steps_completed: steps });
    expect(done.persistent_job).toMatchObject({ state: "completed", resume_count: 1, can_resume: false });
    const { switchAt, second } = expectHandOver(await checkpointsOf(onSurvivor, task.task_id), steps, owner, cluster);
    expect(switchAt).toBe(from);
    expect(second).toBe(others[0]);
  });
});
