import { useCallback, useEffect, useRef, useState } from "preact/hooks";

/** Whether the tab is visible: polling stops while it is hidden. */
export function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== "hidden");
  useEffect(() => {
    const onChange = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", onChange);
    return () => document.removeEventListener("visibilitychange", onChange);
  }, []);
  return visible;
}

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  loading: boolean;
  reload(): Promise<void>;
  /** Replace the data after an action answered with the new state. */
  setData(data: T): void;
}

/**
 * Loads once per `key`, then every `intervalMs` (when given and `active`) while the tab is
 * visible; coming back to the tab reloads at once. A slow answer never overwrites a newer one.
 */
export function useResource<T>(load: () => Promise<T>, key: string, options: { intervalMs?: number; active?: boolean } = {}): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const visible = usePageVisible();
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);

  const reload = useCallback(async () => {
    const mine = ++generation.current;
    setLoading(true);
    try {
      const value = await loadRef.current();
      if (mine !== generation.current) return;
      setData(value);
      setError(null);
    } catch (err) {
      if (mine === generation.current) setError(err);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setData(null);
    void reload();
  }, [key]);

  const polling = options.intervalMs !== undefined && options.active !== false && visible;
  useEffect(() => {
    if (!polling) return;
    const timer = setInterval(() => void reload(), options.intervalMs);
    return () => clearInterval(timer);
  }, [polling, key, options.intervalMs]);

  const wasVisible = useRef(visible);
  useEffect(() => {
    if (visible && !wasVisible.current && options.intervalMs !== undefined) void reload();
    wasVisible.current = visible;
  }, [visible]);

  return { data, error, loading, reload, setData };
}

/** Runs one user action at a time, keeping its error and a short confirmation message. */
export function useAction(): {
  busy: boolean;
  error: unknown;
  message: string | null;
  run(action: () => Promise<string | null | void>): Promise<boolean>;
  clear(): void;
} {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);
  const run = async (action: () => Promise<string | null | void>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const text = await action();
      setMessage(text ?? null);
      return true;
    } catch (err) {
      setError(err);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, message, run, clear: () => (setError(null), setMessage(null)) };
}
