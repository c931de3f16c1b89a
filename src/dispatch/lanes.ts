/**
 * The two scheduling tools of an endpoint's object: lanes (how many attempts
 * may be in flight at once) and a pacer (how many may start per second).
 */

/**
 * Runs `work` on what `take` hands out, with at most `lanes` items in flight.
 * Items start in the order `take` gives them; `take` returning `undefined`
 * ends a lane. Waits for every lane, then throws the first error, if any, so
 * no attempt is still running when the caller decides what to store.
 */
export async function inLanes<T>(lanes: number, take: () => T | undefined, work: (item: T) => Promise<void>): Promise<void> {
  const lane = async () => {
    for (let item = take(); item !== undefined; item = take()) await work(item);
  };
  const results = await Promise.allSettled(Array.from({ length: Math.max(1, lanes) }, lane));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * Spaces attempt starts evenly: at `perSecond`, one start every
 * 1000/perSecond ms, so no second ever sees more than `perSecond` starts.
 * Even spacing (rather than a bucket that allows bursts) is what a receiver
 * with a hard per-second limit needs. Slots are handed out in call order, so
 * FIFO order is kept.
 */
export class Pacer {
  private nextSlot = 0;

  /** Resolves when the next start is allowed (at once when there is no limit). */
  async wait(perSecond: number | null | undefined): Promise<void> {
    if (!perSecond) return;
    const now = Date.now();
    const at = Math.max(now, this.nextSlot);
    this.nextSlot = at + 1000 / perSecond;
    if (at > now) await new Promise((resolve) => setTimeout(resolve, at - now));
  }
}
