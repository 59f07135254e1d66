// Where the API is. By default the page's own origin (the server serves the app at /app). A page served from
// another origin names the API in its HTML: `<meta name="delete-api" content="https://api.example.com">`, or
// several origins separated by spaces or commas (server nodes: the socket fails over to the next one, and so
// do REST calls that cannot reach a node). Only http(s) origins are taken; paths are ignored.

export interface ApiConfig {
  /** API origins, the preferred one first. */
  origins: string[];
  /** `ws(s)://host/v1/ws` of each origin, in the same order. */
  socketUrls: string[];
}

export const API_META = "delete-api";

export function readApiConfig(doc: Document = document, own: string = location.origin): ApiConfig {
  const content = doc.querySelector<HTMLMetaElement>(`meta[name="${API_META}"]`)?.content ?? "";
  const origins: string[] = [];
  for (const word of content.split(/[\s,]+/)) {
    const origin = originOf(word);
    if (origin !== null && !origins.includes(origin)) origins.push(origin);
  }
  if (origins.length === 0) origins.push(own);
  return { origins, socketUrls: origins.map((o) => `${o.replace(/^http/, "ws")}/v1/ws`) };
}

function originOf(text: string): string | null {
  if (text === "") return null;
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * A `fetch` for `DeleteRest({ baseUrl: origins[0] })` that goes to the origin that last answered, and moves on to
 * the next one when a node cannot be reached (a network error: nothing was answered). HTTP errors are answers and
 * are returned as they are.
 */
export function failoverFetch(config: ApiConfig): typeof fetch {
  const origins = config.origins;
  const base = origins[0] as string;
  let preferred = 0;
  return async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    const path = url.startsWith(base) ? url.slice(base.length) : null;
    if (path === null) return fetch(input, init);
    let failure: unknown = null;
    for (let i = 0; i < origins.length; i++) {
      const index = (preferred + i) % origins.length;
      try {
        const response = await fetch(`${origins[index]}${path}`, init);
        preferred = index;
        return response;
      } catch (error) {
        failure = error; // unreachable, or refused by CORS: try the next node
      }
    }
    throw failure;
  };
}
