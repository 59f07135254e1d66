/**
 * A small typed wrapper of `fetch` for Delete's REST surface (accounts and photos). Bodies and replies are the
 * generated `RestOperations` types; a refusal throws `ClientError` with the error body's `code`, `message` and
 * `details`, the HTTP `status` and `retryAfter` (seconds, from `Retry-After`).
 */

import type { AccountExport, Health, Photo, PhotoList, RestOperations, Tokens, UserReply } from "./protocol.js";
import { ClientError } from "./errors.js";

type Operation = keyof RestOperations;
type Body<K extends Operation> = RestOperations[K]["body"];
type Reply<K extends Operation> = RestOperations[K]["response"];

export interface RestOptions {
  /** The API's origin, e.g. `https://api.trydelete.app` (paths start with `/v1`). */
  baseUrl: string;
  /** The current access token, for the endpoints that need one (a call may also pass its own). */
  accessToken?: () => string | null | undefined | Promise<string | null | undefined>;
  /** Default: the global `fetch`. */
  fetch?: typeof fetch;
}

/** A file to upload: a `Blob`/`File`, or React Native's `{ uri, name, type }`. */
export type PhotoFile = Blob | { uri: string; name: string; type: string };

export class DeleteRest {
  private readonly baseUrl: string;
  private readonly accessToken: RestOptions["accessToken"];
  private readonly fetchImpl: typeof fetch | undefined;

  constructor(options: RestOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.accessToken = options.accessToken;
    this.fetchImpl = options.fetch;
  }

  health(): Promise<Health> {
    return this.send("GET /v1/health", undefined, false);
  }

  /** Create an account (18+) and log in. */
  signup(body: Body<"POST /v1/auth/signup">): Promise<Tokens> {
    return this.send("POST /v1/auth/signup", body, false);
  }

  login(body: Body<"POST /v1/auth/login">): Promise<Tokens> {
    return this.send("POST /v1/auth/login", body, false);
  }

  /** Rotate the refresh token: keep the new one, the old one is spent (using it again revokes the login). */
  refresh(refreshToken: string): Promise<Tokens> {
    return this.send("POST /v1/auth/refresh", { refresh_token: refreshToken }, false);
  }

  /** Revoke the login; its sockets close with 4401 on every node. */
  async logout(refreshToken: string): Promise<void> {
    await this.send("POST /v1/auth/logout", { refresh_token: refreshToken }, false);
  }

  /** Verify the email address with the token of the verification mail's link (`#token=…`); 400 `invalid_token`. */
  verifyEmail(token: string): Promise<UserReply> {
    return this.send("POST /v1/auth/email/verify", { token }, false);
  }

  /** Send a new verification mail (earlier links stop working); at most 3 an hour (`rate_limited`). */
  async resendVerification(token?: string): Promise<void> {
    await this.send("POST /v1/auth/email/resend", undefined, true, token);
  }

  /** Mail a password reset link; the same answer whether or not the account exists. */
  async forgotPassword(email: string): Promise<void> {
    await this.send("POST /v1/auth/password/forgot", { email }, false);
  }

  /** Set a new password with the token of the reset mail's link: a new login (every other one is revoked). */
  resetPassword(body: Body<"POST /v1/auth/password/reset">): Promise<Tokens> {
    return this.send("POST /v1/auth/password/reset", body, false);
  }

  /** Change the password: a new login; every other login is revoked and its sockets close (4401). */
  changePassword(body: Body<"POST /v1/auth/password/change">, token?: string): Promise<Tokens> {
    return this.send("POST /v1/auth/password/change", body, true, token);
  }

  /** Everything stored about me (at most once an hour, `rate_limited` otherwise). */
  exportAccount(token?: string): Promise<AccountExport> {
    return this.send("GET /v1/account/export", undefined, true, token);
  }

  listPhotos(token?: string): Promise<PhotoList> {
    return this.send("GET /v1/profile/photos", undefined, true, token);
  }

  /** Upload a JPEG, PNG or WebP (at most 10 MiB) as the multipart field `file`. */
  uploadPhoto(file: PhotoFile, filename = "photo.jpg", token?: string): Promise<Photo> {
    const form = new FormData();
    if (typeof Blob !== "undefined" && file instanceof Blob) form.append("file", file, filename);
    else form.append("file", file as unknown as Blob); // React Native reads { uri, name, type }
    return this.send("POST /v1/profile/photos", form, true, token);
  }

  async deletePhoto(photoId: string, token?: string): Promise<void> {
    await this.send("DELETE /v1/profile/photos/{photo_id}", undefined, true, token, { photo_id: photoId });
  }

  /** One request; `auth` must match the operation's (the types check it). */
  private async send<K extends Operation>(operation: K, body: Body<K>, auth: RestOperations[K]["auth"],
                                          token?: string, params: Record<string, string> = {}): Promise<Reply<K>> {
    const [method, template] = operation.split(" ") as [string, string];
    const path = template.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(params[name] ?? ""));
    const headers: Record<string, string> = { Accept: "application/json" };
    if (auth) {
      const bearer = token ?? (await this.accessToken?.());
      if (bearer) headers["Authorization"] = `Bearer ${bearer}`;
    }
    let payload: BodyInit | undefined;
    if (body instanceof FormData) {
      payload = body; // fetch sets the multipart boundary
    } else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const fetchImpl = this.fetchImpl ?? globalThis.fetch;
    const response = await fetchImpl(`${this.baseUrl}${path}`, { method, headers, body: payload });
    if (!response.ok) throw await restError(response);
    if (response.status === 204) return undefined as Reply<K>;
    return (await response.json()) as Reply<K>;
  }
}

/** The `ClientError` of an HTTP error response (its body is `{"error": {code, message, details}}`). */
async function restError(response: Response): Promise<ClientError> {
  const extra = { status: response.status, retryAfter: retryAfter(response.headers.get("Retry-After")) };
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // not JSON: a proxy's page
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  if (error && typeof error.code === "string") {
    const details = typeof error.details === "object" && error.details !== null
      ? error.details as Record<string, unknown> : {};
    return new ClientError(error.code as ClientError["code"], String(error.message ?? ""), details, extra);
  }
  return new ClientError(response.status >= 500 ? "internal" : "bad_request", `HTTP ${response.status}`, {}, extra);
}

/** `Retry-After` in seconds (it may be a number of seconds or an HTTP date); null when absent. */
function retryAfter(header: string | null): number | null {
  if (header === null || header.trim() === "") return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}
