// Shared set-up for the Worker tests: the Python-published maps, session keys made here with
// WebCrypto (never committed), and a Miniflare (workerd) instance whose every outbound request
// is recorded. It lives outside test/ because node --test runs every file in test/.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Miniflare } from "miniflare";

const HERE = dirname(fileURLToPath(import.meta.url));
export const PACKAGE = resolve(HERE, "..");
export const REPO = resolve(PACKAGE, "..", "..");
export const SCRIPT = join(PACKAGE, "src", "index.js");
export const WORKER = JSON.parse(readFileSync(join(PACKAGE, "worker.json"), "utf8"));
export const AUDIENCE = "https://app.demobank.example";
export const APP = "https://app.demobank.example";

/** The vectors file (CELL_ROUTER_VECTORS, else the committed one). */
export const VECTORS = JSON.parse(
  readFileSync(process.env.CELL_ROUTER_VECTORS ?? join(REPO, "tests", "vectors", "customer-buckets.json"), "utf8"),
);

/**
 * The maps Python published (CELL_ROUTER_MAPS, as tests/test_cell_router.py passes it), or
 * published now with the repository's venv when run as plain `npm test`.
 */
function publishedMaps() {
  let dir = process.env.CELL_ROUTER_MAPS;
  if (!dir) {
    const python = process.env.PYTHON ?? join(REPO, ".venv", "bin", "python");
    dir = mkdtempSync(join(tmpdir(), "cell-router-maps-"));
    const done = spawnSync(python, ["-m", "tests.vectors", "maps", dir], {
      cwd: REPO,
      encoding: "utf8",
      timeout: 180_000,
    });
    if (done.status !== 0) {
      throw new Error(
        `publishing the shard maps with ${python} failed (run \`make setup\` first, or set CELL_ROUTER_MAPS): ${done.error ?? done.stderr}`,
      );
    }
    process.on("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const manifest = JSON.parse(readFileSync(join(dir, "maps.json"), "utf8"));
  const read = (/** @type {string} */ rel) => readFileSync(join(dir, rel), "utf8");
  /** @type {Record<string, any>} */
  const regions = {};
  for (const [region, m] of Object.entries(manifest.regions)) {
    const entry = (/** @type {string} */ rel) => {
      const text = read(rel);
      return { text, version: JSON.parse(text).version, doc: JSON.parse(text) };
    };
    regions[region] = { ...m, current: entry(m.current), moved: entry(m.moved), legacy: entry(m.legacy) };
  }
  return { originSuffix: manifest.origin_suffix, regions, routes: JSON.parse(read("routes.json")) };
}

export const MAPS = publishedMaps();
export const REGIONS = Object.keys(MAPS.regions).sort();

// --------------------------------------------------------------------------- tokens

export async function newSigningKey() {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const jwk = await crypto.subtle.exportKey("jwk", pair.publicKey);
  return {
    privateKey: pair.privateKey,
    publicJwk: jwk,
    privateJwk: await crypto.subtle.exportKey("jwk", pair.privateKey),
  };
}

const b64 = (/** @type {string | Uint8Array} */ data) => Buffer.from(data).toString("base64url");

/** A JWS compact token; node's WebCrypto ECDSA signature is already raw r || s. */
export async function sign(privateKey, claims, header = { alg: "ES256", typ: "JWT" }) {
  const input = `${b64(JSON.stringify(header))}.${b64(JSON.stringify(claims))}`;
  const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, privateKey, new TextEncoder().encode(input));
  return `${input}.${b64(new Uint8Array(sig))}`;
}

export const now = () => Math.floor(Date.now() / 1000);

/** Good claims for `sub` homed in `region`; override or drop (undefined) any of them. */
export function claims(sub, region, over = {}) {
  return { sub, region, aud: AUDIENCE, iat: now(), exp: now() + 300, ...over };
}

// --------------------------------------------------------------------------- Miniflare

// Outbound requests leave the router for this stub Worker, which hands each to node to record
// and answer; node can ask it to fail as a network error does (the router's fetch rejects).
const STUB = `export default { async fetch(request, env) {
  const answer = await env.RECORDER.fetch(request);
  if (answer.headers.get("x-test-network-error")) throw new Error("connection refused");
  return answer;
} }`;

/**
 * @typedef {{ url: URL, method: string, headers: Headers, body: string }} Recorded
 * @param {{ key: { publicJwk: JsonWebKey }, bindings?: Record<string, string>,
 *   answer?: (r: Recorded) => Response | Promise<Response> }} options
 */
export async function startRouter({ key, bindings = {}, answer }) {
  /** @type {Recorded[]} */
  const requests = [];
  let respond = answer ?? defaultAnswer;
  const mf = new Miniflare({
    workers: [
      {
        name: "router",
        compatibilityDate: WORKER.compatibility_date, // per worker: there is no shared default
        modules: true,
        scriptPath: SCRIPT,
        modulesRoot: dirname(SCRIPT), // module names relative to it, whatever the cwd
        kvNamespaces: ["SHARD_MAPS"],
        bindings: {
          SESSION_PUBLIC_KEY: JSON.stringify(key.publicJwk),
          SESSION_AUDIENCE: AUDIENCE,
          ORIGIN_SUFFIX: MAPS.originSuffix,
          ...bindings,
        },
        outboundService: "stub",
      },
      {
        name: "stub",
        compatibilityDate: WORKER.compatibility_date,
        modules: true,
        script: STUB,
        serviceBindings: {
          RECORDER: async (request) => {
            const r = {
              url: new URL(request.url),
              method: request.method,
              headers: new Headers(request.headers),
              body: await request.text(),
            };
            requests.push(r);
            return respond(r);
          },
        },
      },
    ],
  });
  const kv = await mf.getKVNamespace("SHARD_MAPS", "router");
  return {
    mf,
    kv,
    requests,
    /** @param {(r: Recorded) => Response | Promise<Response>} fn */
    answer(fn) {
      respond = fn;
    },
    reset() {
      requests.length = 0;
      respond = answer ?? defaultAnswer;
    },
    /** @param {string} path @param {RequestInit} [init] */
    fetch: (path, init) => mf.dispatchFetch(`${APP}${path}`, init),
    dispose: () => mf.dispose(),
  };
}

/** @param {Recorded} r */
export function defaultAnswer(r) {
  return new Response(`hello from ${r.url.hostname}`, { headers: { "x-served-by": r.url.hostname } });
}

/** Store a region's map as the Pulumi side will: the artifact under its name, then the pointer. */
export async function putMap(kv, region, entry) {
  await kv.put(`shard-map/${region}/${entry.version}.json`, entry.text);
  await kv.put(`current/${region}`, entry.version);
}

/** Every region's current map, as shipped. */
export async function putShippedMaps(kv) {
  for (const region of REGIONS) await putMap(kv, region, MAPS.regions[region].current);
}

export const networkError = () => new Response(null, { status: 599, headers: { "x-test-network-error": "1" } });

export const bearer = (token) => ({ authorization: `Bearer ${token}` });
