/**
 * Alarms that storage remembers but nobody will run. `getAlarm()` returns the
 * time of an alarm as long as it has not started, and under `wrangler dev` an
 * alarm set by a runtime that was then killed stays in storage but never fires
 * in the next runtime (workerd issues #3138 and #3566): an object whose only
 * pending work waits behind such an alarm sleeps until something else sets one.
 * That, not a lock or a lease, is why deliveries stalled for minutes after a
 * crash. So "is an alarm already set?" must not trust a time in storage that
 * is overdue, and an object met for the first time since a start re-sets it.
 */
import { withStorageRetry } from "./storage-retry";

/** An alarm this far past its time is taken as dead: a live one runs within milliseconds of it. */
export const DEAD_ALARM_AFTER_MS = 2_000;

/** Whether no alarm will run: none is set, or the one set is long overdue. */
export function alarmIsDead(current: number | null, now = Date.now()): boolean {
  return current === null || current < now - DEAD_ALARM_AFTER_MS;
}

/**
 * Whether an alarm for `at` must be set, given the alarm storage holds
 * (`current`): none, a later one, or one overdue long enough to be dead.
 */
export function alarmNeedsSetting(current: number | null, at: number, now = Date.now()): boolean {
  return alarmIsDead(current, now) || current! > at;
}

/** The alarm `storage` holds if it will run, else null (none set, or dead); a transient read failure is repeated. */
export async function liveAlarm(storage: DurableObjectStorage, now = Date.now()): Promise<number | null> {
  const current = await withStorageRetry(() => storage.getAlarm());
  return alarmIsDead(current, now) ? null : current;
}
