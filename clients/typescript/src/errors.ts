import type { ErrorCode } from "./protocol.js";

/** The server refused: a socket reply with `ok: false`, or a REST error body. */
export class ClientError extends Error {
  override readonly name = "ClientError";
  /** The stable code (`validation_error`, `rate_limited`, …); `message` is for people. */
  readonly code: ErrorCode;
  /** `fields` for `validation_error`, `retry_after_s` for `rate_limited`, … (`{}` when none). */
  readonly details: Record<string, unknown>;
  /** The command's `ref` (socket), or null. */
  readonly ref: string | null;
  /** The HTTP status (REST), or null. */
  readonly status: number | null;
  /** Seconds to wait before trying again: the `Retry-After` header or `details.retry_after_s`; null when none. */
  readonly retryAfter: number | null;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown> | null,
              extra: { ref?: string | null; status?: number | null; retryAfter?: number | null } = {}) {
    super(message);
    this.code = code;
    this.details = details ?? {};
    this.ref = extra.ref ?? null;
    this.status = extra.status ?? null;
    const fromDetails = this.details["retry_after_s"];
    this.retryAfter = extra.retryAfter ?? (typeof fromDetails === "number" ? fromDetails : null);
  }
}

/**
 * The socket closed. From `call()` when the socket dropped before the reply (the client may be resuming:
 * see `DeleteClient.state`), and from `connect()`, `events()` and `closed` when the client stopped for good.
 * `code` is the WebSocket close code (1006 when the connection dropped without one, or could not be opened).
 */
export class ClosedError extends Error {
  override readonly name = "ClosedError";
  readonly code: number;
  readonly reason: string;

  constructor(code: number, reason: string) {
    super(`socket closed (${code})${reason ? `: ${reason}` : ""}`);
    this.code = code;
    this.reason = reason;
  }
}

/** No reply within the call's timeout (the command may still have run). */
export class TimeoutError extends Error {
  override readonly name = "TimeoutError";
}
