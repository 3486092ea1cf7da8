// The router in workerd (Miniflare) against the maps rollout/shards.py really publishes: every
// outbound request is recorded, so "to that cell and to no other" is checked, not assumed.
import assert from "node:assert/strict";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import {
  MAPS,
  REGIONS,
  VECTORS,
  bearer,
  claims,
  networkError,
  newSigningKey,
  now,
  putMap,
  putShippedMaps,
  sign,
  startRouter,
} from "../harness/support.js";

const key = await newSigningKey();
const token = (sub, region, over = {}, header) => sign(key.privateKey, claims(sub, region, over), header);
const route = (region, id) => MAPS.routes[region][id];
/** A vector customer of `region` whose cell the moved map drains (and one it does not). */
const movedCustomer = (region) =>
  VECTORS.ids.map((e) => e.id).find((id) => route(region, id).cell !== route(region, id).moved_cell);
const stayingCustomer = (region) =>
  VECTORS.ids.map((e) => e.id).find((id) => route(region, id).cell === route(region, id).moved_cell);
const EU = "europe-west2";
// The contract's header names, spelled here rather than imported: a rename must fail a test.
const CELL_HEADER = "x-demobank-cell";
const MAP_VERSION_HEADER = "x-demobank-map-version";
const ID = VECTORS.ids[0].id;

/** @param {Response} res */
async function assertUnavailable(res) {
  assert.equal(res.status, 503, await res.clone().text());
  assert.match(res.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
  assert.equal(res.headers.get("cache-control"), "no-store");
}

describe("routing", () => {
  /** @type {Awaited<ReturnType<typeof startRouter>>} */
  let r;
  before(async () => {
    r = await startRouter({ key });
    await putShippedMaps(r.kv);
  });
  after(() => r.dispose());
  beforeEach(() => r.reset());

  test("every vector customer goes to exactly the cell its region's table assigns", async () => {
    const seen = new Map();
    for (const region of REGIONS) {
      const { version } = MAPS.regions[region].current;
      for (const [i, { id }] of VECTORS.ids.entries()) {
        r.reset();
        const expected = route(region, id);
        const t = await token(id, region);
        // Alternate the two carriers: Authorization: Bearer and the __Host-session cookie.
        const headers = i % 2 ? bearer(t) : { cookie: `theme=dark; __Host-session=${t}` };
        const res = await r.fetch(`/api/accounts/${i}?page=2&sort=desc`, { headers });
        assert.equal(res.status, 200, `${region} ${id}: ${await res.clone().text()}`);
        assert.equal(await res.text(), `hello from ${expected.origin}`);
        assert.equal(r.requests.length, 1, `${region} ${id} made ${r.requests.length} requests`);
        const [out] = r.requests;
        assert.equal(out.url.href, `https://${expected.origin}/api/accounts/${i}?page=2&sort=desc`);
        assert.equal(out.headers.get(CELL_HEADER), expected.cell);
        assert.equal(out.headers.get(MAP_VERSION_HEADER), version);
        seen.set(expected.origin, (seen.get(expected.origin) ?? 0) + 1);
      }
    }
    // Both cells of both regions were exercised, and nothing else was ever contacted.
    const origins = REGIONS.flatMap((region) => Object.values(MAPS.regions[region].current.doc.origins)).sort();
    assert.deepEqual([...seen.keys()].sort(), origins);
  });

  test("method, path, query, headers and body reach the cell unchanged; spoofed edge headers do not", async () => {
    const t = await token(ID, EU);
    const body = JSON.stringify({ amount: "12.34", currency: "GBP" });
    const res = await r.fetch("/api/payments?idempotency=abc", {
      method: "POST",
      body,
      headers: {
        ...bearer(t),
        "content-type": "application/json",
        "x-request-id": "req-1",
        [CELL_HEADER]: "eu-9",
        "x-demobank-customer": "someone-else",
      },
    });
    assert.equal(res.status, 200);
    const [out] = r.requests;
    assert.equal(r.requests.length, 1);
    assert.equal(out.method, "POST");
    assert.equal(out.body, body);
    assert.equal(out.url.pathname + out.url.search, "/api/payments?idempotency=abc");
    assert.equal(out.headers.get("content-type"), "application/json");
    assert.equal(out.headers.get("x-request-id"), "req-1");
    assert.equal(out.headers.get("authorization"), `Bearer ${t}`); // the cell verifies it again
    assert.equal(out.headers.get(CELL_HEADER), route(EU, ID).cell);
    assert.equal(out.headers.get("x-demobank-customer"), null);
  });

  test("a redirect from the cell goes back to the client, not followed to another host", async () => {
    r.answer(
      () => new Response(null, { status: 302, headers: { location: "https://eu-2.euw2.origin.demobank.example/x" } }),
    );
    const res = await r.fetch("/api/x", { headers: bearer(await token(ID, EU)), redirect: "manual" });
    assert.equal(res.status, 302);
    assert.equal(r.requests.length, 1);
    assert.equal(r.requests[0].url.hostname, route(EU, ID).origin);
  });

  test("no token: passed through unchanged for geo steering", async () => {
    r.answer(() => new Response("from the load balancer", { status: 201, headers: { "x-lb": "1" } }));
    const res = await r.fetch("/assets/app.js?v=3", {
      method: "PUT",
      body: "payload",
      headers: { cookie: "theme=dark", "x-trace": "t1", authorization: "Basic dXNlcjpwYXNz", [CELL_HEADER]: "eu-1" },
    });
    assert.equal(res.status, 201);
    assert.equal(await res.text(), "from the load balancer");
    assert.equal(res.headers.get("x-lb"), "1");
    assert.equal(r.requests.length, 1);
    const [out] = r.requests;
    assert.equal(out.url.href, "https://app.demobank.example/assets/app.js?v=3");
    assert.equal(out.method, "PUT");
    assert.equal(out.body, "payload");
    assert.equal(out.headers.get("cookie"), "theme=dark");
    assert.equal(out.headers.get("x-trace"), "t1");
    assert.equal(out.headers.get("authorization"), "Basic dXNlcjpwYXNz");
    assert.equal(out.headers.get(CELL_HEADER), null); // only the edge speaks as x-demobank-*
    assert.equal(out.headers.get(MAP_VERSION_HEADER), null);
  });

  test("an empty session cookie is no token", async () => {
    const res = await r.fetch("/", { headers: { cookie: "__Host-session=" } });
    assert.equal(res.status, 200);
    assert.equal(r.requests[0].url.hostname, "app.demobank.example");
  });

  describe("a token that does not verify: 401, and nothing is forwarded", () => {
    const cases = [
      ["signed by another key", async () => sign((await newSigningKey()).privateKey, claims(ID, EU)), "signature"],
      [
        "payload changed after signing",
        async () => {
          const [h, , s] = (await token(ID, EU)).split(".");
          return `${h}.${Buffer.from(JSON.stringify(claims(VECTORS.ids[1].id, EU))).toString("base64url")}.${s}`;
        },
        "signature",
      ],
      ["signature truncated", async () => (await token(ID, EU)).slice(0, -4), "signature"],
      ["expired", () => token(ID, EU, { exp: now() - 120 }), "expired"],
      ["no expiry", () => token(ID, EU, { exp: undefined }), "malformed"],
      ["not yet valid", () => token(ID, EU, { nbf: now() + 600 }), "not yet valid"],
      ["issued in the future", () => token(ID, EU, { iat: now() + 600 }), "not yet valid"],
      ["another audience", () => token(ID, EU, { aud: "https://other.example" }), "audience"],
      ["an audience list", () => token(ID, EU, { aud: ["https://app.demobank.example"] }), "audience"],
      ["no audience", () => token(ID, EU, { aud: undefined }), "audience"],
      [
        "alg none",
        async () => {
          const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
          return `${enc({ alg: "none", typ: "JWT" })}.${enc(claims(ID, EU))}.`;
        },
        "algorithm",
      ],
      [
        "alg HS256 keyed with the public key",
        async () => {
          const enc = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
          const input = `${enc({ alg: "HS256", typ: "JWT" })}.${enc(claims(ID, EU))}`;
          const hmac = await crypto.subtle.importKey(
            "raw",
            new TextEncoder().encode(JSON.stringify(key.publicJwk)),
            { name: "HMAC", hash: "SHA-256" },
            false,
            ["sign"],
          );
          const sig = await crypto.subtle.sign("HMAC", hmac, new TextEncoder().encode(input));
          return `${input}.${Buffer.from(sig).toString("base64url")}`;
        },
        "algorithm",
      ],
      [
        "ES256 signature in DER, not raw r||s",
        async () => {
          const [h, p, s] = (await token(ID, EU)).split(".");
          const raw = Buffer.from(s, "base64url");
          const int = (b) => (b[0] & 0x80 ? Buffer.concat([Buffer.of(0), b]) : b);
          const [rr, ss] = [int(raw.subarray(0, 32)), int(raw.subarray(32))];
          const der = Buffer.concat([
            Buffer.of(0x30, rr.length + ss.length + 4, 2, rr.length),
            rr,
            Buffer.of(2, ss.length),
            ss,
          ]);
          return `${h}.${p}.${der.toString("base64url")}`;
        },
        "signature",
      ],
      ["a critical header extension", () => token(ID, EU, {}, { alg: "ES256", crit: ["exp"] }), "malformed"],
      ["an unknown kid", () => token(ID, EU, {}, { alg: "ES256", kid: "other" }), "key"],
      ["not three parts", async () => "abc.def", "malformed"],
      ["not base64url", async () => "ab+c.de/f.gh=i", "malformed"],
      ["no subject", () => token(undefined, EU), "subject"],
      ["a numeric subject", () => token(12345, EU), "subject"],
      ["no region", () => token(ID, undefined), "region"],
      ["a region that is not a region name", () => token(ID, "../current/x"), "region"],
    ];
    for (const [name, make, reason] of cases) {
      test(name, async () => {
        const res = await r.fetch("/api/accounts", { headers: bearer(await make()) });
        assert.equal(res.status, 401);
        assert.equal(await res.text(), `session refused: ${reason}\n`);
        assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer error="invalid_token"/);
        assert.equal(r.requests.length, 0);
      });
    }

    test("every non-canonical id of the vectors, even correctly signed, in header or cookie", async () => {
      for (const [i, { id, why }] of VECTORS.refused.entries()) {
        const t = await token(id, EU);
        const res = await r.fetch("/api/accounts", { headers: i % 2 ? bearer(t) : { cookie: `__Host-session=${t}` } });
        assert.equal(res.status, 401, why);
        assert.equal(await res.text(), "session refused: subject\n", why);
      }
      assert.equal(r.requests.length, 0);
    });

    test("control: the same construction with good values is routed", async () => {
      const res = await r.fetch("/api/accounts", {
        headers: bearer(await token(ID, EU, {}, { alg: "ES256", typ: "JWT" })),
      });
      assert.equal(res.status, 200);
      assert.equal(r.requests.length, 1);
    });
  });

  describe("the customer's cell is down: 503 with Retry-After, and no other cell is tried", () => {
    for (const [name, answer] of [
      ["the connection fails", networkError],
      ["502 from origin", () => new Response("bad gateway", { status: 502 })],
      ["503 from origin", () => new Response("down", { status: 503 })],
      ["504 from origin", () => new Response("timeout", { status: 504 })],
      ["522 (connection timed out)", () => new Response("", { status: 522 })],
      ["530 (origin unreachable)", () => new Response("", { status: 530 })],
    ]) {
      test(name, async () => {
        for (const region of REGIONS) {
          r.reset();
          r.answer(answer);
          const res = await r.fetch("/api/accounts", { headers: bearer(await token(ID, region)) });
          await assertUnavailable(res);
          assert.match(await res.text(), new RegExp(`cell ${route(region, ID).cell} is unavailable`));
          assert.deepEqual(
            r.requests.map((q) => q.url.hostname),
            [route(region, ID).origin],
          );
        }
      });
    }

    test("an application error is the cell's answer, passed back as is", async () => {
      r.answer(() => new Response("ledger says no", { status: 500 }));
      const res = await r.fetch("/api/accounts", { headers: bearer(await token(ID, EU)) });
      assert.equal(res.status, 500);
      assert.equal(await res.text(), "ledger says no");
      assert.equal(r.requests.length, 1);
    });

    test("the sibling cell's customers are unaffected", async () => {
      const down = route(EU, ID).origin;
      r.answer((q) => (q.url.hostname === down ? networkError() : new Response("fine")));
      const other = VECTORS.ids.map((e) => e.id).find((id) => route(EU, id).origin !== down);
      await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(ID, EU)) }));
      const ok = await r.fetch("/a", { headers: bearer(await token(other, EU)) });
      assert.equal(ok.status, 200);
      assert.deepEqual(
        r.requests.map((q) => q.url.hostname),
        [down, route(EU, other).origin],
      );
    });
  });
});

describe("an unverifiable map: 503, never a guess", () => {
  /** @type {Awaited<ReturnType<typeof startRouter>>} */
  let r;
  before(async () => {
    r = await startRouter({ key });
  });
  after(() => r.dispose());
  beforeEach(async () => {
    r.reset();
    for (const { name } of await r.kv.list().then((l) => l.keys)) await r.kv.delete(name);
  });

  const current = (region) => MAPS.regions[region].current;
  const cases = [
    ["no current pointer", async () => {}],
    ["the pointer names a missing map", async () => r.kv.put(`current/${EU}`, current(EU).version)],
    [
      "the pointer is not a version",
      async () => {
        await putMap(r.kv, EU, current(EU));
        await r.kv.put(`current/${EU}`, "latest");
      },
    ],
    [
      "content tampered with, version kept",
      async () => {
        const text = current(EU).text.replace('"eu-1":[[0,511]],"eu-2":[[512,1023]]', '"eu-1":[[0,1023]],"eu-2":[]');
        assert.notEqual(text, current(EU).text);
        await putMap(r.kv, EU, { version: current(EU).version, text });
      },
    ],
    [
      "an origin redirected, version kept",
      async () => {
        await putMap(r.kv, EU, {
          version: current(EU).version,
          text: current(EU).text.replace("eu-1.euw2.origin", "eu-1.evil"),
        });
      },
    ],
    ["not JSON", async () => putMap(r.kv, EU, { version: current(EU).version, text: current(EU).text.slice(0, -1) })],
    [
      "another region's map under this region's pointer",
      async () => putMap(r.kv, EU, current(REGIONS.find((x) => x !== EU))),
    ],
    ["a map published without origins", async () => putMap(r.kv, EU, MAPS.regions[EU].legacy)],
  ];
  for (const [name, setup] of cases) {
    test(name, async () => {
      await setup();
      const res = await r.fetch("/api/accounts", { headers: bearer(await token(ID, EU)) });
      await assertUnavailable(res);
      assert.equal(await res.text(), `routing for region ${EU} is unavailable; retry later\n`);
      assert.equal(r.requests.length, 0);
    });
  }

  test("control: the untouched map routes", async () => {
    await putMap(r.kv, EU, current(EU));
    const res = await r.fetch("/api/accounts", { headers: bearer(await token(ID, EU)) });
    assert.equal(res.status, 200);
    assert.equal(r.requests.length, 1);
  });
});

describe("a moved bucket: the cell answers 421, the router follows a newer verified map once", () => {
  /** @type {Awaited<ReturnType<typeof startRouter>>} */
  let r;
  // A router per test: it remembers the pointer it last verified, and each test moves it.
  beforeEach(async () => {
    r = await startRouter({ key });
    await putShippedMaps(r.kv);
    for (const region of REGIONS) {
      const moved = MAPS.regions[region].moved;
      await r.kv.put(`shard-map/${region}/${moved.version}.json`, moved.text);
    }
  });
  afterEach(() => r.dispose());

  /** The old cell flips the pointer (as the rebalance does) and answers 421. */
  const handOver = (region, oldOrigin, flipTo, then) => async (q) => {
    if (q.url.hostname === oldOrigin) {
      if (flipTo) await r.kv.put(`current/${region}`, flipTo);
      return new Response("not here", { status: 421, headers: { [MAP_VERSION_HEADER]: flipTo ?? "0000000000000000" } });
    }
    return then ? then(q) : new Response(`new home ${q.url.hostname}`);
  };

  test("followed once to the new cell, body and all, in every region", async () => {
    for (const region of REGIONS) {
      r.reset();
      const id = movedCustomer(region);
      const { origin, moved_origin: movedOrigin, moved_cell: movedCell } = route(region, id);
      const moved = MAPS.regions[region].moved.version;
      r.answer(handOver(region, origin, moved));
      const res = await r.fetch("/api/payments", {
        method: "POST",
        body: '{"amount":"1.00"}',
        headers: { ...bearer(await token(id, region)), "content-type": "application/json" },
      });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(await res.text(), `new home ${movedOrigin}`);
      assert.deepEqual(
        r.requests.map((q) => q.url.hostname),
        [origin, movedOrigin],
      );
      assert.equal(r.requests[1].headers.get(CELL_HEADER), movedCell);
      assert.equal(r.requests[1].headers.get(MAP_VERSION_HEADER), moved);
      assert.deepEqual(
        r.requests.map((q) => q.body),
        ['{"amount":"1.00"}', '{"amount":"1.00"}'],
      );
      // The next request reads the new map first.
      r.reset();
      assert.equal((await r.fetch("/a", { headers: bearer(await token(id, region)) })).status, 200);
      assert.deepEqual(
        r.requests.map((q) => q.url.hostname),
        [movedOrigin],
      );
    }
  });

  test("KV has no newer map yet: 503, no second request", async () => {
    const id = movedCustomer(EU);
    r.answer(handOver(EU, route(EU, id).origin, null));
    await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(id, EU)) }));
    assert.deepEqual(
      r.requests.map((q) => q.url.hostname),
      [route(EU, id).origin],
    );
  });

  test("the newer map keeps the customer on the same cell: 503, not a loop", async () => {
    const id = stayingCustomer(EU);
    r.answer(handOver(EU, route(EU, id).origin, MAPS.regions[EU].moved.version));
    await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(id, EU)) }));
    assert.deepEqual(
      r.requests.map((q) => q.url.hostname),
      [route(EU, id).origin],
    );
  });

  test("the new cell also answers 421: 503 after exactly two requests", async () => {
    const id = movedCustomer(EU);
    const moved = MAPS.regions[EU].moved.version;
    r.answer(
      handOver(
        EU,
        route(EU, id).origin,
        moved,
        () => new Response("", { status: 421, headers: { [MAP_VERSION_HEADER]: moved } }),
      ),
    );
    await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(id, EU)) }));
    assert.deepEqual(
      r.requests.map((q) => q.url.hostname),
      [route(EU, id).origin, route(EU, id).moved_origin],
    );
  });

  test("the new cell is down: 503", async () => {
    const id = movedCustomer(EU);
    r.answer(handOver(EU, route(EU, id).origin, MAPS.regions[EU].moved.version, networkError));
    await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(id, EU)) }));
    assert.equal(r.requests.length, 2);
  });

  test("the newer map does not verify: 503, no second request", async () => {
    const id = movedCustomer(EU);
    const moved = MAPS.regions[EU].moved;
    const tampered = moved.text.replace('"eu-2":[[0,1023]]', '"eu-2":[[0,1022]]');
    assert.notEqual(tampered, moved.text);
    await r.kv.put(`shard-map/${EU}/${moved.version}.json`, tampered);
    r.answer(handOver(EU, route(EU, id).origin, moved.version));
    await assertUnavailable(await r.fetch("/a", { headers: bearer(await token(id, EU)) }));
    assert.deepEqual(
      r.requests.map((q) => q.url.hostname),
      [route(EU, id).origin],
    );
  });

  test("the pointer is remembered briefly, but a 421 re-reads it", async () => {
    const id = movedCustomer(EU);
    const { origin, moved_origin: movedOrigin } = route(EU, id);
    assert.equal((await r.fetch("/a", { headers: bearer(await token(id, EU)) })).status, 200);
    // The rebalance flips the pointer: the next request still uses the remembered map ...
    await r.kv.put(`current/${EU}`, MAPS.regions[EU].moved.version);
    r.answer((q) => (q.url.hostname === origin ? new Response("", { status: 421 }) : new Response("new home")));
    const res = await r.fetch("/a", { headers: bearer(await token(id, EU)) });
    assert.equal(res.status, 200);
    // ... so the old cell says 421 (here without naming a version) and the router follows.
    assert.deepEqual(
      r.requests.map((q) => q.url.hostname),
      [origin, origin, movedOrigin],
    );
  });

  test("a body too large to replay is not resent: 503", async () => {
    const id = movedCustomer(EU);
    r.answer(handOver(EU, route(EU, id).origin, MAPS.regions[EU].moved.version));
    const res = await r.fetch("/upload", {
      method: "POST",
      body: "x".repeat((1 << 20) + 1),
      headers: bearer(await token(id, EU)),
    });
    await assertUnavailable(res);
    assert.equal(r.requests.length, 1);
  });
});

describe("misconfiguration is the deployment's fault: 500, nothing forwarded", () => {
  for (const [name, bindings] of [
    ["a private key bound as the public key", async () => ({ SESSION_PUBLIC_KEY: JSON.stringify(key.privateJwk) })],
    ["no audience", async () => ({ SESSION_AUDIENCE: "" })],
    ["the public key is not JSON", async () => ({ SESSION_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----" })],
  ]) {
    test(name, async () => {
      const r = await startRouter({ key, bindings: await bindings() });
      try {
        await putShippedMaps(r.kv);
        const res = await r.fetch("/api/accounts", { headers: bearer(await token(ID, EU)) });
        assert.equal(res.status, 500);
        assert.equal(r.requests.length, 0);
        assert.equal((await r.fetch("/assets/x.js")).status, 200); // unauthenticated still flows
      } finally {
        await r.dispose();
      }
    });
  }

  test("a map whose origins are outside ORIGIN_SUFFIX is refused (503)", async () => {
    const r = await startRouter({ key, bindings: { ORIGIN_SUFFIX: "origin.elsewhere.example" } });
    try {
      await putShippedMaps(r.kv);
      await assertUnavailable(await r.fetch("/api/accounts", { headers: bearer(await token(ID, EU)) }));
      assert.equal(r.requests.length, 0);
    } finally {
      await r.dispose();
    }
  });

  test("a JWK Set selects its key by kid", async () => {
    const other = await newSigningKey();
    const set = {
      keys: [
        { ...other.publicJwk, kid: "old" },
        { ...key.publicJwk, kid: "new" },
      ],
    };
    const r = await startRouter({ key, bindings: { SESSION_PUBLIC_KEY: JSON.stringify(set) } });
    try {
      await putShippedMaps(r.kv);
      const ok = await r.fetch("/a", { headers: bearer(await token(ID, EU, {}, { alg: "ES256", kid: "new" })) });
      assert.equal(ok.status, 200);
      const wrong = await r.fetch("/a", { headers: bearer(await token(ID, EU, {}, { alg: "ES256", kid: "old" })) });
      assert.equal(wrong.status, 401);
      const none = await r.fetch("/a", { headers: bearer(await token(ID, EU)) });
      assert.equal(await none.text(), "session refused: key\n");
      assert.equal(r.requests.length, 1);
    } finally {
      await r.dispose();
    }
  });
});
