// The edge cell router's cost: `node bench/cell_router.mjs` (needs `npm ci --prefix edge/cell-router`).
//
// 1. Per request, in one workerd (Miniflare) instance: the router (token verified, map read
//    from KV, customer hashed, forwarded) against a pass-through Worker (`fetch(request)`),
//    both sending to the same in-runtime origin stub. Rounds run in back-to-back pairs, in
//    alternating order, so load from elsewhere hits both alike; the figure is the median of
//    the pairs' ratios. Target: router / pass-through <= 1.5.
// 2. The bucket lookup at several map sizes (ranges per map): comparisons and time per lookup
//    grow with log2(ranges), and the once-per-version parse and verification of such a map.
//
// Last line: `router ratio: X.XX`.
import { createRequire } from "node:module";
import { cpus } from "node:os";
import { dirname, join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const ROUTER = join(ROOT, "edge", "cell-router");
const SCRIPT = join(ROUTER, "src", "index.js");
const requireFromRouter = createRequire(join(ROUTER, "package.json"));
let Miniflare;
try {
  ({ Miniflare } = await import(requireFromRouter.resolve("miniflare")));
} catch {
  console.error("miniflare is not installed; run `npm ci --prefix edge/cell-router`");
  process.exit(2);
}
const { canonicalJson, findRange, parseShardMap } = await import(SCRIPT);
const WORKER = requireFromRouter("./worker.json");

const REQUESTS_PER_ROUND = 100;
const ROUNDS = 41;
const REGION = "europe-west2";
const AUDIENCE = "https://app.demobank.example";
const SUFFIX = "origin.demobank.example";

/** A map as rollout/shards.py publishes it: `ranges` contiguous ranges over `buckets`, two cells. */
async function artifact(ranges, buckets) {
  const cells = { "eu-1": [], "eu-2": [] };
  for (let i = 0; i < ranges; i++) {
    const first = Math.floor((i * buckets) / ranges);
    const last = Math.floor(((i + 1) * buckets) / ranges) - 1;
    cells[i % 2 ? "eu-2" : "eu-1"].push([first, last]);
  }
  const body = {
    buckets,
    cells,
    hash: "sha256-of-customer-id-first-8-bytes-big-endian-mod-buckets",
    origins: { "eu-1": `eu-1.euw2.${SUFFIX}`, "eu-2": `eu-2.euw2.${SUFFIX}` },
    region: REGION,
  };
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(body)));
  const version = Buffer.from(digest).toString("hex").slice(0, 16);
  return { version, text: canonicalJson({ ...body, version }) };
}

async function tokens(count) {
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const b64 = (s) => Buffer.from(s).toString("base64url");
  const out = [];
  for (let i = 0; i < count; i++) {
    const claims = {
      sub: crypto.randomUUID(),
      region: REGION,
      aud: AUDIENCE,
      exp: Math.floor(Date.now() / 1000) + 3600,
    };
    const input = `${b64(JSON.stringify({ alg: "ES256", typ: "JWT" }))}.${b64(JSON.stringify(claims))}`;
    const sig = await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-256" },
      pair.privateKey,
      new TextEncoder().encode(input),
    );
    out.push(`${input}.${Buffer.from(sig).toString("base64url")}`);
  }
  return { publicJwk: await crypto.subtle.exportKey("jwk", pair.publicKey), tokens: out };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function perRequest() {
  const { publicJwk, tokens: signed } = await tokens(REQUESTS_PER_ROUND);
  const date = WORKER.compatibility_date;
  const mf = new Miniflare({
    workers: [
      {
        name: "router",
        compatibilityDate: date,
        modules: true,
        scriptPath: SCRIPT,
        modulesRoot: dirname(SCRIPT), // module names relative to it, whatever the cwd
        kvNamespaces: ["SHARD_MAPS"],
        bindings: { SESSION_PUBLIC_KEY: JSON.stringify(publicJwk), SESSION_AUDIENCE: AUDIENCE, ORIGIN_SUFFIX: SUFFIX },
        outboundService: "origin",
      },
      {
        name: "passthrough",
        compatibilityDate: date,
        modules: true,
        script: "export default { fetch: (request) => fetch(request) };",
        outboundService: "origin",
      },
      {
        name: "origin",
        compatibilityDate: date,
        modules: true,
        script: 'export default { fetch: () => new Response("ok") };',
      },
    ],
  });
  try {
    const kv = await mf.getKVNamespace("SHARD_MAPS", "router");
    const map = await artifact(2, 1024); // the shipped shape: two cells, 1024 buckets
    await kv.put(`shard-map/${REGION}/${map.version}.json`, map.text);
    await kv.put(`current/${REGION}`, map.version);
    const workers = { router: await mf.getWorker("router"), passthrough: await mf.getWorker("passthrough") };
    const round = async (name) => {
      const worker = workers[name];
      const start = performance.now();
      for (const token of signed) {
        const res = await worker.fetch("https://app.demobank.example/api/accounts?page=1", {
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status !== 200) throw new Error(`${name} answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
      return (performance.now() - start) / signed.length;
    };
    await round("router"); // warm both: module load, key import, map parse, JIT
    await round("passthrough");
    const times = { router: [], passthrough: [] };
    const ratios = [];
    for (let i = 0; i < ROUNDS; i++) {
      for (const name of i % 2 ? ["passthrough", "router"] : ["router", "passthrough"])
        times[name].push(await round(name));
      ratios.push(times.router[i] / times.passthrough[i]); // a pair runs back to back: same load
    }
    return { router: median(times.router), passthrough: median(times.passthrough), ratio: median(ratios) };
  } finally {
    await mf.dispose();
  }
}

async function lookups() {
  const rows = [];
  for (const ranges of [2, 16, 256, 4096, 65536]) {
    const map = await artifact(ranges, 65536);
    let parsed;
    let parseMs = Infinity;
    for (let pass = 0; pass < 5; pass++) {
      const t0 = performance.now();
      parsed = await parseShardMap(map.text, REGION, map.version, SUFFIX);
      parseMs = Math.min(parseMs, performance.now() - t0);
    }
    const buckets = Uint32Array.from({ length: 1 << 16 }, () => Math.floor(Math.random() * 65536));
    const count = { comparisons: 0 };
    for (const b of buckets) findRange(parsed.starts, b, count);
    // Best of 7 timed passes after a warm one: the floor, without JIT and GC noise.
    let sink = 0;
    let best = Infinity;
    for (let pass = 0; pass < 8; pass++) {
      const start = performance.now();
      for (let r = 0; r < 10; r++) for (const b of buckets) sink += findRange(parsed.starts, b);
      if (pass > 0) best = Math.min(best, performance.now() - start);
    }
    const ns = (best * 1e6) / (10 * buckets.length);
    if (sink < 0) console.log(sink);
    rows.push({ ranges, comparisons: count.comparisons / buckets.length, ns, parseMs });
  }
  return rows;
}

const cpu = cpus();
console.log(
  `machine: ${cpu.length} x ${cpu[0]?.model ?? "?"}, node ${process.version}, workerd via miniflare (compatibility date ${WORKER.compatibility_date})`,
);
const lookup = await lookups();
console.log("lookup (binary search over sorted ranges, node/V8):");
console.log("  ranges  log2  comparisons/lookup  ns/lookup  parse+verify (once per version)");
for (const r of lookup) {
  console.log(
    `  ${String(r.ranges).padStart(6)}  ${Math.log2(r.ranges).toFixed(0).padStart(4)}  ${r.comparisons.toFixed(2).padStart(18)}  ${r.ns.toFixed(1).padStart(9)}  ${r.parseMs.toFixed(2).padStart(9)} ms`,
  );
}
const t = await perRequest();
console.log(`per request, medians of ${ROUNDS} paired rounds x ${REQUESTS_PER_ROUND} sequential requests:`);
console.log(
  `  pass-through ${t.passthrough.toFixed(3)} ms, router ${t.router.toFixed(3)} ms, added ${(t.router - t.passthrough).toFixed(3)} ms`,
);
console.log(`router ratio: ${t.ratio.toFixed(2)}`);
