/**
 * Benchmark probe: `count` plain POSTs to `url`, `concurrency` at a time,
 * from wherever it is called (an endpoint's object, for the bench): the
 * runtime's own ceiling for outbound calls, to compare deliveries against.
 */
export async function probeFetch(url: string, count: number, concurrency: number) {
  const started = Date.now();
  let issued = 0;
  let failures = 0;
  const worker = async () => {
    while (issued < count) {
      issued++;
      try {
        const res = await fetch(url, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
        await res.arrayBuffer();
        if (!res.ok) failures++;
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const durationMs = Math.max(1, Date.now() - started);
  return { count, concurrency, failures, duration_ms: durationMs, fetches_per_second: Math.round((count * 1000) / durationMs) };
}
