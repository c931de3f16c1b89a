/**
 * The transport seam: the one place an endpoint's object hands a signed
 * attempt to the outside world. Scheduling (lanes, pacer, alarm) and recording
 * never see how it travels, so a second way to reach a receiver (a WebSocket
 * the object holds for `rubric listen`) is one more implementation of
 * {@link Transport}, picked per webhook by the object, with nothing else changed.
 */
import { type AttemptRequest, type AttemptResult, sendAttempt } from "./attempt";

/** Sends one attempt and reports what came back. Must never throw: every failure is a result. */
export interface Transport {
  send(request: AttemptRequest): Promise<AttemptResult>;
}

/** Today's transport: the signed HTTP POST of DESIGN §2, with the timeout and bounded read of attempt.ts. */
export const httpTransport: Transport = { send: (request) => sendAttempt(request) };
