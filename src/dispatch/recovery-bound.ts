/**
 * How long recovery may take after a restart: the service promises that every
 * accepted event reaches every webhook owed it within this many seconds of a
 * restart (or of its acceptance, whichever is later).
 *
 * Why 60, with the shipped defaults (the README's "Guarantees" section spells
 * the sum out):
 * - An event still `pending` in D1 is re-enqueued by the outbox sweeper once it
 *   is older than `SWEEP_AFTER_SECONDS` (30), at the sweeper's next alarm,
 *   which comes every `SWEEP_INTERVAL_SECONDS` (15) and fires at start-up when
 *   it came due while the runtime was down: at most 30 + 15 = 45 s. An event
 *   re-enqueued just before the restart waits out the first re-enqueue back-off
 *   (30 s) instead, also within 30 + 15 s. The queue's batch wait (0.05 s),
 *   fan-out and the hand-over to the endpoint's object add well under a second.
 * - A delivery the object held when the runtime stopped comes back with its
 *   alarm: at start-up for a stored one, and for an attempt cut off mid-flight
 *   with the lease, at most 30 s (the longest timeout) + 5 s after it started.
 * The remaining ~14 s are margin. Changing those settings changes the bound;
 * keep this constant and the README in step.
 */
export const RECOVERY_BOUND_SECONDS = 60;
