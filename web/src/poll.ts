// poll.ts: load something from the API now and again every `ms` while the page is shown.
import { useEffect, useState } from 'preact/hooks';
import { errorText } from './ui';

export function usePoll<T>(load: () => Promise<T>, ms: number, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      try {
        const d = await load();
        if (live) {
          setData(d);
          setError('');
        }
      } catch (e) {
        if (live) setError(errorText(e));
      }
      if (live && ms > 0) timer = setTimeout(run, ms);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { data, error, reload: () => setTick((t) => t + 1), setData };
}
