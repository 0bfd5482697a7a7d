import type { ConnectionSnapshot, CurrentTask, LocalTaskRecord, PauseState, TaskProgressSnapshot } from "../../lib/storage";
import type { PluginTaskView } from "../../../shared/plugin";
import { t, type MessageKey } from "../../lib/i18n";
import { actionName } from "../../lib/ui/action-names";

export function CurrentTaskCard(props: { current: CurrentTask | null; progress: TaskProgressSnapshot | null }) {
  const { current, progress } = props;
  if (!current) return <p class="muted">{t("noCurrentTask")}</p>;
  const mine = progress?.taskId === current.task.task_id ? progress : null;
  const percent = mine && mine.total > 0 ? Math.min(100, Math.round((mine.current / mine.total) * 100)) : 0;
  return (
    <div class="task" data-testid="current-task">
      <strong>{actionName(current.task.action)}</strong> <span class="muted">#{current.task.task_id.slice(0, 8)}</span>
      <div class="progress" role="progressbar" aria-label={actionName(current.task.action)} aria-valuenow={percent} aria-valuemin={0} aria-valuemax={100}>
        <div style={{ width: `${percent}%` }} />
      </div>
      <span class="muted">{mine?.message ?? "…"}</span>
    </div>
  );
}

const STATUS_TEXT: Record<string, MessageKey> = {
  pending: "statusPending",
  executing: "statusExecuting",
  completed: "statusCompleted",
  failed: "statusFailed",
  cancelled: "statusCancelled",
  abandoned: "statusAbandoned",
  handed_back: "statusHandedBack",
};

interface Row {
  id: string;
  action: string;
  status: string;
  error: string | null;
  when: string | null;
}

function fromServer(task: PluginTaskView): Row {
  return { id: task.task_id, action: task.action, status: task.status, error: task.error ?? null, when: task.completed_at ?? task.started_at ?? task.created_at };
}

function fromLocal(record: LocalTaskRecord): Row {
  return { id: record.taskId, action: record.action, status: record.status, error: record.error, when: new Date(record.finishedAt).toISOString() };
}

/** Why a queued task has not started: what the task itself says (handed back because …), else what holds the extension. */
function pendingReason(row: Row, connection: ConnectionSnapshot, pause: PauseState | null, busy: boolean): string {
  if (row.error) return row.error;
  if (pause) return t("pendingBecausePaused");
  if (busy) return t("pendingBecauseBusy");
  switch (connection.poller) {
    case "logged_out":
      return t("pendingBecauseLoggedOut");
    case "waiting_for_vinted":
      return t("pendingBecauseNoVinted");
    case "server_unreachable":
      return t("pendingBecauseServer");
    default:
      return t("pendingNext");
  }
}

export function RecentTasks(props: {
  server: PluginTaskView[] | null;
  local: LocalTaskRecord[];
  connection: ConnectionSnapshot;
  pause: PauseState | null;
  busy: boolean;
}) {
  const rows = props.server ? props.server.map(fromServer) : props.local.map(fromLocal);
  if (rows.length === 0) return <p class="muted">{t("noRecentTasks")}</p>;
  return (
    <>
      {!props.server && <p class="muted">{t("recentFromThisBrowser")}</p>}
      <ul class="recent" data-testid="recent-tasks">
        {rows.map((row) => (
          <li key={row.id} data-task-id={row.id}>
            <span>
              {actionName(row.action)}
              {row.when && <span class="muted"> · {new Date(row.when).toLocaleTimeString()}</span>}
              {row.status === "pending" ? (
                <span class="reason muted" data-testid="pending-reason">{t("pendingWaiting", pendingReason(row, props.connection, props.pause, props.busy))}</span>
              ) : (
                row.error && <span class="err error">{row.error}</span>
              )}
            </span>
            <span class={`badge ${row.status}`}>{STATUS_TEXT[row.status] ? t(STATUS_TEXT[row.status] as MessageKey) : row.status}</span>
          </li>
        ))}
      </ul>
    </>
  );
}
