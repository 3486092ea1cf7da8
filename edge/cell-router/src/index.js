// @ts-check
/**
 * Demo Bank cell router: a signed-in customer's request goes to that customer's own cell and
 * to no other. Contract (bindings, claims, headers, status codes): ../README.md.
 *
 * - No session token: passed through for the load balancer's geo steering.
 * - A token that does not verify: 401, never forwarded.
 * - The region's shard map cannot be verified: 503, never a guess.
 * - The customer's cell is down: 503 with Retry-After, never a sibling cell or another region.
 * - The cell says it no longer holds the customer (421): the map is re-read and, if a newer
 *   verified map names another cell, that cell is tried once.
 *
 * The hash and the map format are rollout/shards.py's; tests/vectors/ pins both sides.
 *
 * Only functions and classes are exported (for the tests): workerd refuses any other value as
 * a named export of a Worker's main module.
 */

const CUSTOMER_ID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HASH_NAME = "sha256-of-customer-id-first-8-bytes-big-endian-mod-buckets";
const MAX_BUCKETS = 65536;
const CELL_HEADER = "x-demobank-cell";
const MAP_VERSION_HEADER = "x-demobank-map-version";
const SESSION_COOKIE = "__Host-session";
/** Headers under this prefix are the edge's word to a cell; a client's own are dropped. */
const RESERVED_HEADER_PREFIX = "x-demobank-";
/** Origin statuses that mean the cell itself is unreachable (Cloudflare's 52x included). */
const CELL_DOWN_STATUSES = new Set([502, 503, 504, 520, 521, 522, 523, 524, 525, 526, 530]);
const RETRY_AFTER_SECONDS = 5;
const CLOCK_SKEW_SECONDS = 60;
const MAX_TOKEN_LENGTH = 8192;
/** Bodies up to this size are buffered so a 421 can be followed; larger ones stream once. */
const REPLAY_LIMIT_BYTES = 1 << 20;
const MAP_CACHE_ENTRIES = 16;

const REGION_RE = /^[a-z][a-z0-9-]{0,31}$/;
const VERSION_RE = /^[0-9a-f]{16}$/;
const CELL_RE = /^(?=.{2,12}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const HOSTNAME_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const BASE64URL_RE = /^[A-Za-z0-9_-]*$/;

/**
 * @typedef {object} Env
 * @property {KVNamespace} SHARD_MAPS `current/<region>` -> version; `shard-map/<region>/<version>.json` -> map
 * @property {string} SESSION_PUBLIC_KEY secret: the identity service's public JWK (or JWK Set), JSON text
 * @property {string} SESSION_AUDIENCE the `aud` every session token must carry
 * @property {string} ORIGIN_SUFFIX every origin a map names must end with "." + this
 * @property {string} [SESSION_ISSUER] when set, the `iss` every session token must carry
 */

/**
 * @typedef {object} ShardMap
 * @property {string} region
 * @property {string} version
 * @property {number} buckets
 * @property {number[]} starts first bucket of each range, ascending
 * @property {number[]} ends last bucket of each range
 * @property {string[]} owners cell of each range
 * @property {Record<string, string>} origins cell -> origin hostname
 */

/** @typedef {{ customerId: string, region: string }} Session */

// --------------------------------------------------------------------------- hashing

/** @param {unknown} id @returns {id is string} */
export function isCanonicalCustomerId(id) {
  return typeof id === "string" && CUSTOMER_ID_RE.test(id);
}

/**
 * The customer's bucket: the first 8 bytes of SHA-256(id) as an unsigned big-endian 64-bit
 * integer, mod `buckets`. BigInt, because a Number keeps only 53 of the 64 bits.
 * @param {string} customerId canonical (lowercase hyphenated UUID); anything else throws
 * @param {number} buckets
 */
export async function bucketFor(customerId, buckets) {
  if (!isCanonicalCustomerId(customerId)) throw new TypeError("customer id is not canonical");
  if (!Number.isSafeInteger(buckets) || buckets < 1) throw new RangeError("bad bucket count");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(customerId));
  return Number(new DataView(digest).getBigUint64(0, false) % BigInt(buckets));
}

// --------------------------------------------------------------------------- canonical JSON

/** @type {Record<string, string>} */
const SHORT_ESCAPES = { '"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t" };

/** A JSON string as Python's json.dumps(ensure_ascii=True) writes it. @param {string} s */
function quote(s) {
  // Per UTF-16 code unit, as Python does: astral characters become surrogate-pair escapes.
  return `"${s.replace(/["\\\u0000-\u001f\u007f-\uffff]/g, (ch) => SHORT_ESCAPES[ch] ?? `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** Python sorts keys by code point; JS's default sort compares UTF-16 code units. @param {string} a @param {string} b */
function byCodePoint(a, b) {
  const x = Array.from(a, (c) => /** @type {number} */ (c.codePointAt(0)));
  const y = Array.from(b, (c) => /** @type {number} */ (c.codePointAt(0)));
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/**
 * Python's `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)` for
 * the plain data a map holds. Non-integers throw: their spelling differs between the two.
 * @param {unknown} value
 * @returns {string}
 */
export function canonicalJson(value) {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isSafeInteger(value)) throw new TypeError("only safe integers are canonical");
      return String(value);
    case "string":
      return quote(value);
    case "object": {
      if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
      const obj = /** @type {Record<string, unknown>} */ (value);
      const keys = Object.keys(obj).sort(byCodePoint);
      return `{${keys.map((k) => `${quote(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
    }
    default:
      throw new TypeError(`${typeof value} has no canonical JSON`);
  }
}

// --------------------------------------------------------------------------- shard maps

export class MapUnavailable extends Error {}

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject(v) {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** @param {ArrayBuffer} buf */
function hex(buf) {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Verify and index one published map: its version is the hash of its own content, it is the
 * map of `region` at `version`, its ranges cover every bucket exactly once and every cell has
 * an origin under `originSuffix`. Anything else throws MapUnavailable.
 * @param {string} text the artifact exactly as rollout/shards.py publishes it
 * @param {string} region
 * @param {string} version the `current/<region>` pointer
 * @param {string} originSuffix
 * @returns {Promise<ShardMap>}
 */
export async function parseShardMap(text, region, version, originSuffix) {
  const bad = (/** @type {string} */ why) => new MapUnavailable(`shard map ${region}/${version}: ${why}`);
  let doc;
  try {
    doc = JSON.parse(text);
  } catch {
    throw bad("not JSON");
  }
  if (!isObject(doc)) throw bad("not an object");
  if (doc.version !== version) throw bad(`names version ${JSON.stringify(doc.version)}`);
  const { version: _, ...body } = doc;
  let canonical;
  try {
    canonical = canonicalJson(body);
  } catch {
    throw bad("holds a value with no canonical form");
  }
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical));
  if (hex(digest).slice(0, 16) !== version) throw bad("content does not match its version");
  // From here the content is what was published; the checks below catch a publisher bug.
  if (doc.region !== region) throw bad(`is the map of region ${JSON.stringify(doc.region)}`);
  if (doc.hash !== HASH_NAME) throw bad(`uses hash ${JSON.stringify(doc.hash)}`);
  const buckets = doc.buckets;
  if (typeof buckets !== "number" || !Number.isSafeInteger(buckets) || buckets < 1 || buckets > MAX_BUCKETS)
    throw bad("bad bucket count");
  const { cells, origins } = doc;
  if (!isObject(cells) || !isObject(origins)) throw bad("has no cells or no origins");
  /** @type {[number, number, string][]} */
  const ranges = [];
  for (const [cell, held] of Object.entries(cells)) {
    if (!CELL_RE.test(cell) || !Array.isArray(held)) throw bad(`bad cell ${JSON.stringify(cell)}`);
    for (const r of held) {
      if (
        !Array.isArray(r) ||
        r.length !== 2 ||
        !r.every(Number.isSafeInteger) ||
        r[0] < 0 ||
        r[0] > r[1] ||
        r[1] >= buckets
      )
        throw bad(`bad range in cell ${cell}`);
      ranges.push([r[0], r[1], cell]);
    }
  }
  ranges.sort((a, b) => a[0] - b[0]);
  let next = 0;
  for (const [first, last] of ranges) {
    if (first !== next) throw bad(`bucket ${Math.min(first, next)} is not held exactly once`);
    next = last + 1;
  }
  if (next !== buckets) throw bad(`bucket ${next} is held by no cell`);
  const cellNames = Object.keys(cells).sort();
  if (canonicalJson(Object.keys(origins).sort()) !== canonicalJson(cellNames))
    throw bad("origins do not name exactly its cells");
  for (const cell of cellNames) {
    const host = origins[cell];
    if (typeof host !== "string" || !HOSTNAME_RE.test(host) || !host.endsWith(`.${originSuffix}`))
      throw bad(`origin of ${cell} is not a hostname under ${originSuffix}`);
  }
  return {
    region,
    version,
    buckets,
    starts: ranges.map((r) => r[0]),
    ends: ranges.map((r) => r[1]),
    owners: ranges.map((r) => r[2]),
    origins: /** @type {Record<string, string>} */ (origins),
  };
}

/**
 * Index of the range holding `bucket`: the last `starts[i] <= bucket`, by binary search
 * (ceil(log2 n) comparisons for n ranges). `starts` is ascending and starts at 0.
 * @param {ArrayLike<number>} starts
 * @param {number} bucket
 * @param {{ comparisons: number }} [count] incremented once per comparison (tests, bench)
 */
export function findRange(starts, bucket, count) {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (count) count.comparisons++;
    if (starts[mid] <= bucket) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** @param {ShardMap} map @param {number} bucket */
export function cellFor(map, bucket) {
  const i = findRange(map.starts, bucket);
  if (!(bucket >= map.starts[i] && bucket <= map.ends[i]))
    throw new MapUnavailable(`bucket ${bucket} is outside the map`);
  return map.owners[i];
}

/** Verified maps by region/version: a version's content never changes, so parse it once. */
const mapCache = new Map();
/**
 * The last verified pointer per region, kept briefly: reading KV on every request would cost
 * more than everything else the router does, and KV itself may serve a pointer up to 60 s old.
 * A 421 from a cell bypasses it.
 * @type {Map<string, { version: string, until: number }>}
 */
const pointerCache = new Map();
const POINTER_TTL_MS = 5000;

/**
 * The region's current map, verified. `fresh` re-reads the `current/<region>` pointer from KV
 * (after a cell's 421); otherwise a pointer verified in the last few seconds is reused.
 * @param {Env} env
 * @param {string} region
 * @param {boolean} [fresh]
 * @returns {Promise<ShardMap>}
 */
export async function currentMap(env, region, fresh = false) {
  const now = Date.now();
  const remembered = pointerCache.get(region);
  let version = !fresh && remembered && remembered.until > now ? remembered.version : null;
  version ??= await env.SHARD_MAPS.get(`current/${region}`, "text");
  if (version === null) throw new MapUnavailable(`no current shard map for region ${region}`);
  if (!VERSION_RE.test(version)) throw new MapUnavailable(`current/${region} is not a map version`);
  const key = `${region}/${version}/${env.ORIGIN_SUFFIX}`;
  let map = mapCache.get(key);
  if (!map) {
    const text = await env.SHARD_MAPS.get(`shard-map/${region}/${version}.json`, "text");
    if (text === null) throw new MapUnavailable(`shard map ${region}/${version} is missing`);
    map = await parseShardMap(text, region, version, env.ORIGIN_SUFFIX);
    if (mapCache.size >= MAP_CACHE_ENTRIES) mapCache.delete(mapCache.keys().next().value);
    mapCache.set(key, map);
  }
  // Only a pointer whose map verified is remembered: a broken one is retried next request.
  if (remembered?.version !== version || !(remembered.until > now))
    pointerCache.set(region, { version, until: now + POINTER_TTL_MS });
  return map;
}

// --------------------------------------------------------------------------- session tokens

export class SessionRefused extends Error {
  /** @param {string} reason */
  constructor(reason) {
    super(reason);
    this.reason = reason;
  }
}

export class Misconfigured extends Error {}

/**
 * The session token: `Authorization: Bearer <jwt>` if present, else the `__Host-session`
 * cookie; null when there is neither (an empty value counts as none).
 * @param {Request} request
 */
export function sessionToken(request) {
  const auth = request.headers.get("authorization");
  const bearer = auth?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i);
  if (bearer) return bearer[1];
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim() || null;
  }
  return null;
}

/** @param {string} part */
function base64url(part) {
  if (!BASE64URL_RE.test(part) || part.length % 4 === 1) throw new SessionRefused("malformed");
  const bin = atob(part.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((part.length + 3) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** @param {string} part @returns {Record<string, unknown>} */
function jsonPart(part) {
  let value;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(base64url(part)));
  } catch {
    throw new SessionRefused("malformed");
  }
  if (!isObject(value)) throw new SessionRefused("malformed");
  return value;
}

/** @type {{ text: string, keys: Promise<{ kid: string | undefined, key: CryptoKey }[]> } | null} */
let keyCache = null;

/** The verification key(s) from SESSION_PUBLIC_KEY, imported once per isolate. @param {Env} env */
function sessionKeys(env) {
  const text = env.SESSION_PUBLIC_KEY;
  if (keyCache?.text !== text) keyCache = { text, keys: importKeys(text) };
  return keyCache.keys;
}

/** @param {string | undefined} text */
async function importKeys(text) {
  let doc;
  try {
    doc = JSON.parse(text ?? "");
  } catch {
    throw new Misconfigured("SESSION_PUBLIC_KEY is not JSON");
  }
  const jwks = isObject(doc) && Array.isArray(doc.keys) ? doc.keys : [doc];
  if (jwks.length === 0) throw new Misconfigured("SESSION_PUBLIC_KEY holds no key");
  return Promise.all(
    jwks.map(async (/** @type {unknown} */ jwk) => {
      if (
        !isObject(jwk) ||
        jwk.kty !== "EC" ||
        jwk.crv !== "P-256" ||
        typeof jwk.x !== "string" ||
        typeof jwk.y !== "string"
      )
        throw new Misconfigured("SESSION_PUBLIC_KEY is not a P-256 public JWK");
      if ("d" in jwk) throw new Misconfigured("SESSION_PUBLIC_KEY holds a private key; bind the public half only");
      try {
        const key = await crypto.subtle.importKey(
          "jwk",
          { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y },
          { name: "ECDSA", namedCurve: "P-256" },
          false,
          ["verify"],
        );
        return { kid: typeof jwk.kid === "string" ? jwk.kid : undefined, key };
      } catch {
        throw new Misconfigured("SESSION_PUBLIC_KEY does not import as a P-256 key");
      }
    }),
  );
}

/**
 * Verify a JWS compact ES256 session token and return its customer and home region, or throw
 * SessionRefused(reason) / Misconfigured. The signature is checked before any claim is read.
 * @param {string} token
 * @param {Env} env
 * @param {number} now seconds since the epoch
 * @returns {Promise<Session>}
 */
export async function verifySession(token, env, now) {
  const parts = token.length <= MAX_TOKEN_LENGTH ? token.split(".") : [];
  if (parts.length !== 3) throw new SessionRefused("malformed");
  const header = jsonPart(parts[0]);
  // Only ES256: "none", HMAC (keyed with the public key) and friends are forgeries.
  if (header.alg !== "ES256") throw new SessionRefused("algorithm");
  if ("crit" in header) throw new SessionRefused("malformed");
  const keys = await sessionKeys(env);
  const match =
    typeof header.kid === "string" ? keys.filter((k) => k.kid === header.kid) : keys.length === 1 ? keys : [];
  if (match.length !== 1) throw new SessionRefused("key");
  const signature = base64url(parts[2]);
  if (signature.length !== 64) throw new SessionRefused("signature"); // JWS ES256: raw r || s
  const signed = new TextEncoder().encode(`${parts[0]}.${parts[1]}`);
  if (!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, match[0].key, signature, signed)))
    throw new SessionRefused("signature");
  const claims = jsonPart(parts[1]);
  const { exp, nbf, iat, aud, iss, sub, region } = claims;
  if (typeof exp !== "number" || !Number.isFinite(exp)) throw new SessionRefused("malformed");
  if (now - CLOCK_SKEW_SECONDS >= exp) throw new SessionRefused("expired");
  if (nbf !== undefined && (typeof nbf !== "number" || now + CLOCK_SKEW_SECONDS < nbf))
    throw new SessionRefused("not yet valid");
  if (iat !== undefined && (typeof iat !== "number" || now + CLOCK_SKEW_SECONDS < iat))
    throw new SessionRefused("not yet valid");
  if (aud !== env.SESSION_AUDIENCE) throw new SessionRefused("audience");
  if (env.SESSION_ISSUER && iss !== env.SESSION_ISSUER) throw new SessionRefused("issuer");
  // Refused, never normalised: another spelling of the id would hash to another cell.
  if (!isCanonicalCustomerId(sub)) throw new SessionRefused("subject");
  if (typeof region !== "string" || !REGION_RE.test(region)) throw new SessionRefused("region");
  return { customerId: sub, region };
}

/**
 * The bindings signed-in traffic needs; a missing one is the deployment's fault (500), not
 * the customer's, and is never papered over.
 * @param {Env} env
 */
export function checkConfig(env) {
  if (typeof env.SHARD_MAPS?.get !== "function") throw new Misconfigured("SHARD_MAPS is not a KV binding");
  if (typeof env.SESSION_AUDIENCE !== "string" || env.SESSION_AUDIENCE === "")
    throw new Misconfigured("SESSION_AUDIENCE is not set");
  if (typeof env.ORIGIN_SUFFIX !== "string" || !HOSTNAME_RE.test(env.ORIGIN_SUFFIX))
    throw new Misconfigured("ORIGIN_SUFFIX is not a hostname");
}

// --------------------------------------------------------------------------- responses

/** @param {number} status @param {string} text @param {Record<string, string>} [headers] */
function plain(status, text, headers = {}) {
  return new Response(`${text}\n`, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store", ...headers },
  });
}

/** @param {string} reason */
const refused = (reason) =>
  plain(401, `session refused: ${reason}`, { "www-authenticate": 'Bearer error="invalid_token"' });
/** @param {string} text */
const unavailable = (text) => plain(503, text, { "retry-after": String(RETRY_AFTER_SECONDS) });

/** @param {Headers} headers */
function dropReserved(headers) {
  const reserved = [...headers.keys()].filter((name) => name.startsWith(RESERVED_HEADER_PREFIX));
  for (const name of reserved) headers.delete(name);
  return reserved.length > 0;
}

// --------------------------------------------------------------------------- forwarding

const CELL_DOWN = Symbol("cell down");

/**
 * Send the request to `cell`'s origin only: same method, path, query, headers and body, over
 * HTTPS, with the cell and map version for the cell to check. Redirects come back to the
 * client: following one here could leave the cell.
 * @param {Request} request
 * @param {ArrayBuffer | ReadableStream | null} body
 * @param {ShardMap} map
 * @param {string} cell
 * @returns {Promise<Response | typeof CELL_DOWN>}
 */
async function forward(request, body, map, cell) {
  const url = new URL(request.url);
  url.protocol = "https:";
  url.hostname = map.origins[cell];
  url.port = "";
  const headers = new Headers(request.headers);
  dropReserved(headers);
  headers.delete("host");
  if (body instanceof ArrayBuffer) {
    // Buffered: the runtime frames it from its length, whatever framing the client used.
    headers.delete("content-length");
    headers.delete("transfer-encoding");
  }
  headers.set(CELL_HEADER, cell);
  headers.set(MAP_VERSION_HEADER, map.version);
  let response;
  try {
    response = await fetch(url.toString(), { method: request.method, headers, body, redirect: "manual" });
  } catch {
    return CELL_DOWN;
  }
  if (CELL_DOWN_STATUSES.has(response.status)) {
    await response.body?.cancel();
    return CELL_DOWN;
  }
  return response;
}

/**
 * The request body, buffered when it is at most REPLAY_LIMIT_BYTES so a 421 can be followed
 * with it; a larger one is streamed once (what was read, then the rest) and not replayable.
 * @param {Request} request
 * @returns {Promise<{ body: ArrayBuffer | ReadableStream | null, replayable: boolean }>}
 */
async function requestBody(request) {
  if (request.body === null) return { body: null, replayable: true };
  if (Number(request.headers.get("content-length")) > REPLAY_LIMIT_BYTES)
    return { body: request.body, replayable: false };
  const reader = request.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size > REPLAY_LIMIT_BYTES) {
      const rest = new ReadableStream({
        start(controller) {
          for (const chunk of chunks) controller.enqueue(chunk);
        },
        async pull(controller) {
          const next = await reader.read();
          if (next.done) controller.close();
          else controller.enqueue(next.value);
        },
        cancel: (reason) => reader.cancel(reason),
      });
      return { body: rest, replayable: false };
    }
  }
  const whole = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    whole.set(chunk, at);
    at += chunk.byteLength;
  }
  return { body: whole.buffer, replayable: true };
}

/** @param {string} cell */
const cellDown = (cell) => unavailable(`cell ${cell} is unavailable; retry later`);

/**
 * The customer's cell in the region's current map (`fresh`: re-read the pointer), or null
 * when the map cannot be verified; why is logged, the client only learns it is unavailable.
 * @param {Env} env
 * @param {Session} session
 * @param {boolean} fresh
 * @returns {Promise<{ map: ShardMap, cell: string } | null>}
 */
async function lookup(env, session, fresh) {
  try {
    const map = await currentMap(env, session.region, fresh);
    return { map, cell: cellFor(map, await bucketFor(session.customerId, map.buckets)) };
  } catch (err) {
    if (!(err instanceof MapUnavailable)) throw err;
    console.error(err.message);
    return null;
  }
}

/** @param {Session} session */
const noMap = (session) => unavailable(`routing for region ${session.region} is unavailable; retry later`);
/** @param {string} cell */
const handingOver = (cell) => unavailable(`cell ${cell} is handing over this account; retry later`);

/**
 * @param {Request} request
 * @param {Env} env
 * @param {Session} session
 */
async function route(request, env, session) {
  const home = await lookup(env, session, false);
  if (home === null) return noMap(session);
  const { body, replayable } = await requestBody(request);
  const first = await forward(request, body, home.map, home.cell);
  if (first === CELL_DOWN) return cellDown(home.cell);
  if (first.status !== 421) return first;

  // The cell no longer holds this customer: follow a newer verified map once, else 503.
  await first.body?.cancel();
  const moved = await lookup(env, session, true);
  if (moved === null) return noMap(session);
  if (moved.map.version === home.map.version || moved.cell === home.cell || !replayable) return handingOver(home.cell);
  const second = await forward(request, body, moved.map, moved.cell);
  if (second === CELL_DOWN) return cellDown(moved.cell);
  if (second.status === 421) {
    await second.body?.cancel();
    return handingOver(moved.cell);
  }
  return second;
}

export default /** @type {ExportedHandler<Env>} */ ({
  async fetch(request, env) {
    const token = sessionToken(request);
    if (token === null) {
      // Unauthenticated: geo steering's business. Only the edge may speak as x-demobank-*.
      const headers = new Headers(request.headers);
      return dropReserved(headers) ? fetch(new Request(request, { headers })) : fetch(request);
    }
    let session;
    try {
      checkConfig(env);
      session = await verifySession(token, env, Math.floor(Date.now() / 1000));
    } catch (err) {
      if (err instanceof SessionRefused) return refused(err.reason);
      if (err instanceof Misconfigured) {
        console.error(`cell router misconfigured: ${err.message}`);
        return plain(500, "cell router misconfigured");
      }
      throw err;
    }
    return route(request, env, session);
  },
});
