// What to tell a person when the server says no: the rule behind each error code, in words.

import { ClientError, ClosedError, TimeoutError } from "../src/index.js";

const FIELD_NAMES: Record<string, string> = {
  display_name: "Name", bio: "Bio", gender: "Gender", interested_in: "Interested in", age_min: "Youngest age",
  age_max: "Oldest age", max_distance_km: "Distance", location: "Location", "location.lat": "Latitude",
  "location.lon": "Longitude", email: "Email", password: "Password", birthdate: "Birthdate",
  comment: "Comment", answer: "Answer", body: "Message", new_password: "New password", file: "Photo",
};

function number(details: Record<string, unknown>, key: string): number | null {
  const value = details[key];
  return typeof value === "number" ? value : null;
}

function fields(details: Record<string, unknown>): string {
  const found = details["fields"];
  if (typeof found !== "object" || found === null) return "";
  return Object.entries(found as Record<string, unknown>)
    .map(([name, why]) => `${FIELD_NAMES[name] ?? name}: ${String(why)}`).join("; ");
}

function likeRule(error: ClientError): string | null {
  const d = error.details;
  switch (error.code) {
    case "comment_required": {
      const left = number(d, "likes_needing_comment");
      return `Your first 5 likes need a comment of ${number(d, "min_chars") ?? 10} to ${number(d, "max_chars") ?? 500} `
        + `characters: say what caught your eye on their profile.${left !== null ? ` (${left} more like${left === 1 ? "" : "s"} `
        + "need one.)" : ""}`;
    }
    case "daily_limit_reached":
      return "You have used today's 10 likes. More at midnight UTC: take your time with the people you liked.";
    case "spam_detected":
      return "You have sent this comment twice already. The same text may be used at most twice: write something "
        + "for this person.";
    case "conflict":
      return "You have already liked this person.";
    case "not_found":
      return "This person is no longer available (they left, or one of you blocked the other).";
    default:
      return null;
  }
}

/** A sentence for people, from any error a call can throw. */
export function explain(error: unknown): string {
  if (error instanceof ClientError) {
    const rule = likeRule(error);
    if (rule !== null) return rule;
    const d = error.details;
    switch (error.code) {
      case "rate_limited":
        return `Too many tries. Wait ${error.retryAfter ?? number(d, "retry_after_s") ?? "a few"} s and try again.`;
      case "validation_error":
        return fields(d) || error.message;
      case "content_blocked":
        return `Something in ${FIELD_NAMES[String(d["field"])] ?? "this text"} is not allowed on Delete. Please rephrase it.`;
      case "prompt_limit":
        return "You can answer at most 3 prompts. Delete one to answer another.";
      case "photo_limit":
        return "You can have at most 6 photos. Delete one to add another.";
      case "invalid_credentials":
        return "Wrong email or password.";
      case "email_taken":
        return "An account with this email already exists. Log in, or reset the password.";
      case "account_suspended":
        return "This account is suspended.";
      case "invalid_token":
        return "This link has expired or was already used. Ask for a new one.";
      default:
        return error.message || error.code;
    }
  }
  if (error instanceof ClosedError) return "The connection dropped. Try again in a moment.";
  if (error instanceof TimeoutError) return "The server did not answer in time. Try again.";
  if (error instanceof TypeError) {
    return "Cannot reach the Delete server (offline, or this page's origin is not allowed by the API).";
  }
  return error instanceof Error ? error.message : String(error);
}
