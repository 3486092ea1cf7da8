// The client against bundles `rollout l10n build` really produced. tests/test_l10n_client.py
// builds them into a temporary folder and passes it as L10N_BUNDLES_DIR (the bucket's l10n/
// folder); this file serves it from a local HTTP server on 127.0.0.1, as the CDN would.

import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { join, normalize } from 'node:path'
import { after, before, beforeEach, describe, test } from 'node:test'

import { createL10n, fetchVerified, IntegrityError, integrityOf, negotiate, parseAcceptLanguage } from '../src/index.js'

const DIR = process.env.L10N_BUNDLES_DIR
if (!DIR) throw new Error('set L10N_BUNDLES_DIR to a folder `rollout l10n build --out` wrote (tests/test_l10n_client.py does)')

const served = { requests: [], tamper: new Set(), missing: new Set(), manifest: null }
let server
let base

before(async () => {
  server = createServer(async (request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://x').pathname)
    served.requests.push(path)
    if (!path.startsWith('/l10n/') || served.missing.has(path)) {
      response.writeHead(404).end()
      return
    }
    try {
      let body = await readFile(join(DIR, normalize(path.slice('/l10n/'.length)).replace(/^(\.\.[/\\])+/, '')))
      if (path === '/l10n/manifest.json' && served.manifest) body = Buffer.from(JSON.stringify(served.manifest(JSON.parse(body))))
      if (served.tamper.has(path)) body = Buffer.from(body.toString('utf8').replace(/"}$/, ' (changed)"}'))
      response.writeHead(200, { 'content-type': 'application/json' }).end(body)
    } catch {
      response.writeHead(404).end()
    }
  })
  await new Promise(resolve => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${server.address().port}`
})

after(() => new Promise(resolve => server.close(resolve)))

beforeEach(() => {
  served.requests.length = 0
  served.tamper.clear()
  served.missing.clear()
  served.manifest = null
})

const client = (options = {}) => createL10n({ manifestUrl: `${base}/l10n/manifest.json`, ...options })

async function ready (locale, namespaces, options = {}) {
  const l10n = client(options)
  await l10n.init({ locale, ...options })
  await l10n.load(namespaces)
  return l10n
}

const manifestFile = async () => JSON.parse(await readFile(join(DIR, 'manifest.json'), 'utf8'))
const bundlePath = async (locale, ns) => `/${(await manifestFile()).bundles[locale][ns]}`

describe('plurals, scripts and amounts', () => {
  test('Polish plurals use CLDR one, few, many', async () => {
    const l10n = await ready('pl-PL', ['accounts'])
    const count = n => l10n.format('accounts.account_count', { count: n })
    assert.equal(count(0), 'Nie masz jeszcze żadnego konta')
    assert.equal(count(1), 'Masz 1 konto')
    assert.equal(count(2), 'Masz 2 konta')
    assert.equal(count(5), 'Masz 5 kont')
    assert.equal(count(22), 'Masz 22 konta')
    assert.equal(count(25), 'Masz 25 kont')
  })

  test('Tamil text', async () => {
    const l10n = await ready('ta-SG', ['sign-in', 'accounts'])
    assert.equal(l10n.format('sign-in.welcome_back', { name: 'Priya' }), 'மீண்டும் வருக, Priya')
    assert.equal(l10n.format('accounts.account_count', { count: 1 }), 'உங்களுக்கு 1 கணக்கு உள்ளது')
  })

  test('Chinese text', async () => {
    const l10n = await ready('zh-Hans-SG', ['accounts'])
    assert.equal(l10n.format('accounts.account_count', { count: 3 }), '您有 3 个账户')
    assert.equal(l10n.format('accounts.title'), '您的账户')
  })

  test('GBP, EUR and SGD amounts in their locales', async () => {
    const gb = await ready('en-GB', ['payments'])
    assert.equal(gb.format('payments.transfer_sent', { amount: gb.formatCurrency(1234.5, 'GBP'), name: 'Ada' }), '£1,234.50 sent to Ada')
    const de = await ready('de-DE', ['payments'])
    assert.equal(de.format('payments.transfer_sent', { amount: de.formatCurrency(1234.5, 'EUR'), name: 'Ada' }), '1.234,50\u00a0€ an Ada gesendet')
    const sg = await ready('en-SG', ['payments'])
    assert.equal(sg.format('payments.daily_limit', { limit: sg.formatCurrency(5000, 'SGD') }), 'You can send up to $5,000.00 per day.')
  })
})

describe('integrity', () => {
  test('the manifest SRI is the SHA-384 of the bundle bytes', async () => {
    const manifest = await manifestFile()
    const path = manifest.bundles['de-DE'].payments
    const bytes = await readFile(join(DIR, path.slice('l10n/'.length)))
    assert.equal(await integrityOf(bytes), manifest.integrity[path])
  })

  test('a tampered bundle is refused', async () => {
    const path = await bundlePath('de-DE', 'payments')
    served.tamper.add(path)
    const manifest = await manifestFile()
    await assert.rejects(fetchVerified(`${base}${path}`, manifest.integrity[path.slice(1)]), IntegrityError)
    const errors = []
    const l10n = await ready('de-DE', ['payments'], { onError: e => errors.push(e) })
    assert.equal(errors.length, 1)
    assert.ok(errors[0] instanceof IntegrityError)
    // never the tampered German text: the next locale of the chain, formatted as English
    assert.equal(l10n.format('payments.confirm'), 'Confirm payment')
  })
})

describe('choosing a locale and falling back', () => {
  test('Accept-Language is read by quality', () => {
    assert.deepEqual(parseAcceptLanguage('fr;q=0.5, pl-PL, en;q=0.8, *;q=0.1, de;q=0'), ['pl-PL', 'en', 'fr'])
  })

  test('a locale the manifest lacks falls back to one of its language', async () => {
    const manifest = await manifestFile()
    assert.equal(negotiate(manifest, { acceptLanguage: 'de-CH,de;q=0.9,en;q=0.5' }), 'de-DE')
    assert.equal(negotiate(manifest, { requested: 'zh-SG' }), 'zh-Hans-SG')
    assert.equal(negotiate(manifest, { requested: 'ms-MY' }), 'ms-SG')
    assert.equal(negotiate(manifest, { requested: 'ja-JP', acceptLanguage: 'ko' }), 'en-GB')
    const l10n = await ready(undefined, ['sign-in'], { acceptLanguage: 'de-AT' })
    assert.equal(l10n.locale, 'de-DE')
    assert.equal(l10n.format('sign-in.submit'), 'Anmelden')
  })

  test('a locale that is not live goes down its fallback chain', async () => {
    served.manifest = m => ({ ...m, locales: { ...m.locales, 'ms-SG': { ...m.locales['ms-SG'], live: false } } })
    const l10n = await ready('ms-SG', ['sign-in'])
    assert.deepEqual([l10n.locale, l10n.chain], ['en-SG', ['en-SG', 'en-GB']])
    assert.equal(l10n.format('sign-in.submit'), 'Sign in')
  })

  test('a missing bundle falls back along the chain', async () => {
    served.missing.add(await bundlePath('ms-SG', 'sign-in'))
    const errors = []
    const l10n = await ready('ms-SG', ['sign-in'], { onError: e => errors.push(e) })
    assert.deepEqual(l10n.chain, ['ms-SG', 'en-SG', 'en-GB'])
    assert.equal(errors.length, 1)
    assert.equal(l10n.format('sign-in.submit'), 'Sign in') // en-SG's text
  })

  test('keys the build fell back are formatted in their own locale', async () => {
    const key = 'accounts.account_count'
    served.manifest = m => ({ ...m, locales: { ...m.locales, 'pl-PL': { ...m.locales['pl-PL'], fallbacks: { [key]: 'en-GB' } } } })
    const l10n = await ready('pl-PL', ['accounts'])
    // The Polish text with English plural rules: 2 is "other" in English, "few" in Polish.
    assert.equal(l10n.format(key, { count: 2 }), 'Masz 2 konta')
    assert.equal(l10n.format(key, { count: 5 }), 'Masz 5 konta')
  })

  test('the pseudo-locale is never picked unless asked for', async () => {
    const manifest = await manifestFile()
    assert.equal(manifest.locales['en-XA'].pseudo, true)
    assert.equal(negotiate(manifest, { acceptLanguage: 'en-XA' }), 'en-GB')
    const l10n = await ready('en-XA', ['accounts'], { allowUnreleased: true })
    assert.equal(l10n.locale, 'en-XA')
    assert.match(l10n.format('accounts.account_count', { count: 2 }), /^\[Ýóú ḧáṽé 2 áććóúńẗś ~+\]$/)
  })
})

describe('caching', () => {
  test('each immutable bundle is fetched once', async () => {
    const cache = new Map()
    await ready('fr-FR', ['payments', 'errors'], { cache })
    await ready('fr-FR', ['payments'], { cache })
    const bundles = served.requests.filter(p => p.startsWith('/l10n/bundles/'))
    assert.equal(bundles.length, 2)
  })
})
