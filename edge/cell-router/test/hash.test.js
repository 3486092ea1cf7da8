// The shared vectors in the real runtime (workerd), the canonical JSON the map hash needs, and
// the lookup's binary search.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname } from "node:path";
import { after, before, describe, test } from "node:test";
import { Miniflare } from "miniflare";
import {
  bucketFor,
  canonicalJson,
  findRange,
  isCanonicalCustomerId,
  parseShardMap,
  MapUnavailable,
} from "../src/index.js";
import { MAPS, REGIONS, SCRIPT, VECTORS, WORKER } from "../harness/support.js";

// A probe Worker that imports the router module and runs its helpers inside workerd.
const PROBE = `import { bucketFor, canonicalJson, isCanonicalCustomerId } from "./index.js";
export default { async fetch(request) {
  const v = await request.json();
  const buckets = [];
  for (const e of v.ids) {
    const row = {};
    for (const n of v.bucket_counts) row[n] = await bucketFor(e.id, n);
    buckets.push(row);
  }
  return Response.json({
    buckets,
    accepted: v.refused.map((r) => isCanonicalCustomerId(r.id)),
    canonical: v.canonical_json.map((c) => canonicalJson(c.value)),
  });
} }`;

describe("shared vectors in workerd", () => {
  /** @type {Miniflare} */
  let mf;
  before(() => {
    mf = new Miniflare({
      compatibilityDate: WORKER.compatibility_date,
      modulesRoot: dirname(SCRIPT), // module names relative to it, whatever the cwd
      modules: [
        { type: "ESModule", path: SCRIPT.replace(/index\.js$/, "probe.js"), contents: PROBE },
        { type: "ESModule", path: SCRIPT, contents: readFileSync(SCRIPT, "utf8") },
      ],
    });
  });
  after(() => mf.dispose());

  test("every id lands in its bucket for every count; refused ids are refused; canonical JSON matches Python", async () => {
    const res = await mf.dispatchFetch("http://probe/", { method: "POST", body: JSON.stringify(VECTORS) });
    assert.equal(res.status, 200, await res.clone().text());
    const got = await res.json();
    assert.equal(got.buckets.length, VECTORS.ids.length);
    VECTORS.ids.forEach((e, i) => {
      for (const n of VECTORS.bucket_counts) assert.equal(got.buckets[i][n], e.buckets[n], `${e.id} mod ${n}`);
    });
    assert.deepEqual(
      got.accepted,
      VECTORS.refused.map(() => false),
    );
    assert.deepEqual(
      got.canonical,
      VECTORS.canonical_json.map((c) => c.canonical),
    );
  });
});

describe("hash helpers", () => {
  test("the vectors would catch a Number-based (53-bit) hash", async () => {
    const wrong = VECTORS.ids.filter((e) => Number(BigInt(`0x${e.digest_prefix}`)) % 1000 !== e.buckets["1000"]);
    assert.ok(wrong.length > VECTORS.ids.length / 2, `only ${wrong.length} vectors tell a Number hash apart`);
    for (const e of VECTORS.ids.slice(0, 20)) assert.equal(await bucketFor(e.id, 1000), e.buckets["1000"]);
  });

  test("a non-canonical id throws instead of being hashed", async () => {
    for (const r of VECTORS.refused) {
      assert.equal(isCanonicalCustomerId(r.id), false, r.why);
      await assert.rejects(bucketFor(r.id, 1024), TypeError, r.why);
    }
    assert.equal(isCanonicalCustomerId(VECTORS.ids[0].id), true);
  });

  test("canonical JSON refuses what it cannot spell as Python does", () => {
    assert.throws(() => canonicalJson(1.5), TypeError);
    assert.throws(() => canonicalJson(2 ** 53), TypeError);
    assert.equal(canonicalJson(-0), "0");
  });
});

describe("map lookup", () => {
  /** n ranges over `buckets`, alternating cells, as a map with n ranges would index them. */
  const starts = (n, buckets) => Array.from({ length: n }, (_, i) => Math.floor((i * buckets) / n));

  test("is a binary search: at most ceil(log2 n) comparisons, same answer as a scan", () => {
    for (const n of [1, 2, 3, 7, 16, 1000, 4096, 65536]) {
      const s = starts(n, 65536);
      const bound = Math.ceil(Math.log2(n));
      let worst = 0;
      for (let bucket = 0; bucket < 65536; bucket += n === 65536 ? 1 : 37) {
        const count = { comparisons: 0 };
        const i = findRange(s, bucket, count);
        let scan = 0;
        while (scan + 1 < n && s[scan + 1] <= bucket) scan++;
        assert.equal(i, scan, `n=${n} bucket=${bucket}`);
        worst = Math.max(worst, count.comparisons);
      }
      assert.ok(worst <= bound, `n=${n}: ${worst} comparisons > ${bound}`);
      if (n === 65536) assert.equal(worst, 16); // a scan would need up to 65535
    }
  });

  test("the shipped maps verify and index every bucket to the cell the table assigns", async () => {
    for (const region of REGIONS) {
      const m = MAPS.regions[region].current;
      const map = await parseShardMap(m.text, region, m.version, MAPS.originSuffix);
      for (const [cell, ranges] of Object.entries(m.doc.cells)) {
        for (const [a, b] of ranges) {
          for (const bucket of [a, b, (a + b) >> 1]) assert.equal(map.owners[findRange(map.starts, bucket)], cell);
        }
      }
    }
  });

  test("an unverifiable map says why", async () => {
    const region = REGIONS[0];
    const { text, version, doc } = MAPS.regions[region].current;
    const other = REGIONS[1];
    const cases = [
      ["{", version, /not JSON/],
      [text.replace('"buckets":1024', '"buckets":1023'), version, /content does not match its version/],
      [text, "0000000000000000", /names version/],
      [MAPS.regions[other].current.text, MAPS.regions[other].current.version, /is the map of region/],
      [MAPS.regions[region].legacy.text, MAPS.regions[region].legacy.version, /no origins/],
      [JSON.stringify({ ...doc, buckets: 1.5 }), version, /no canonical form/],
    ];
    for (const [body, v, why] of cases) {
      await assert.rejects(
        parseShardMap(body, region, v, MAPS.originSuffix),
        (err) => err instanceof MapUnavailable && why.test(err.message),
      );
    }
    await assert.rejects(
      parseShardMap(text, region, version, "origin.elsewhere.example"),
      /not a hostname under origin.elsewhere.example/,
    );
  });

  test("a map whose hash is right but whose content is wrong is still refused", async () => {
    const region = REGIONS[0];
    const { doc } = MAPS.regions[region].current;
    const [a, b] = Object.keys(doc.cells).sort();
    const { version: _, ...body } = doc;
    /** The body re-hashed as a publisher would: only the structural checks can catch it. */
    const published = async (change) => {
      const next = { ...structuredClone(body), ...change };
      const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(next)));
      const v = Buffer.from(digest).toString("hex").slice(0, 16);
      return [JSON.stringify({ ...next, version: v }), v];
    };
    const half = doc.buckets / 2;
    const cases = [
      [{ cells: { [a]: [[0, half - 2]], [b]: [[half, doc.buckets - 1]] } }, /bucket \d+ is not held exactly once/],
      [{ cells: { [a]: [[0, half]], [b]: [[half, doc.buckets - 1]] } }, /not held exactly once/],
      [{ cells: { [a]: [[0, half - 1]], [b]: [[half, doc.buckets - 2]] } }, /held by no cell/],
      [{ cells: { [a]: [[0, doc.buckets]], [b]: [] } }, /bad range/],
      [{ origins: { [a]: doc.origins[a] } }, /origins do not name exactly its cells/],
      [{ origins: { ...doc.origins, "xx-9": doc.origins[a] } }, /origins do not name exactly its cells/],
      [{ origins: { ...doc.origins, [a]: `https://${doc.origins[a]}` } }, /not a hostname/],
      [{ hash: "md5" }, /uses hash/],
      [{ buckets: 0 }, /bad bucket count/],
    ];
    for (const [change, why] of cases) {
      const [body2, v] = await published(change);
      await assert.rejects(
        parseShardMap(body2, region, v, MAPS.originSuffix),
        (err) => err instanceof MapUnavailable && why.test(err.message),
        JSON.stringify(change),
      );
    }
    const [same, v] = await published({});
    assert.equal(v, doc.version); // control: the unchanged body re-hashes to the real version
    await parseShardMap(same, region, v, MAPS.originSuffix);
  });
});
