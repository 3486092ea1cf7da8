// Demo Bank's localization client: the frontend's one way to read the bundles that
// `rollout l10n publish` produces.
//
//   const l10n = await createL10n({ manifestUrl: '/l10n/manifest.json' })
//   await l10n.init({ locale: userChoice, acceptLanguage: navigator.languages.join(',') })
//   await l10n.load(['payments'])
//   l10n.format('payments.transfer_sent', { amount: l10n.formatCurrency(12.5, 'EUR'), name })
//
// What it guarantees: only live locales are picked (the pseudo-locale and locales not yet
// launched only when asked for with allowUnreleased); a bundle is used only if its SHA-384
// matches the manifest's subresource-integrity value (WebCrypto), else the next locale of the
// chain is tried; a key that fell back is formatted with the rules of the locale its text is
// in; bundles are immutable, so each is fetched once and cached.

import { IntlMessageFormat } from 'intl-messageformat'

export class IntegrityError extends Error {
  constructor (url, expected, actual) {
    super(`bundle ${url} failed its integrity check: expected ${expected}, got ${actual}`)
    this.name = 'IntegrityError'
    this.url = url
  }
}

export class L10nError extends Error {
  constructor (message) {
    super(message)
    this.name = 'L10nError'
  }
}

const toBase64 = (bytes) => {
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return btoa(binary)
}

/** The subresource-integrity value of some bytes: `sha384-` and the base64 SHA-384. */
export async function integrityOf (bytes, crypto = globalThis.crypto) {
  const digest = await crypto.subtle.digest('SHA-384', bytes)
  return `sha384-${toBase64(new Uint8Array(digest))}`
}

/** Fetch `url` and return its bytes only if they match `expected` (an SRI value). */
export async function fetchVerified (url, expected, { fetch = globalThis.fetch, crypto } = {}) {
  if (!/^sha384-[A-Za-z0-9+/]+={0,2}$/.test(expected ?? '')) {
    throw new IntegrityError(url, expected, 'no sha384 value in the manifest')
  }
  const response = await fetch(url)
  if (!response.ok) throw new L10nError(`bundle ${url}: HTTP ${response.status}`)
  const bytes = new Uint8Array(await response.arrayBuffer())
  const actual = await integrityOf(bytes, crypto)
  if (actual !== expected) throw new IntegrityError(url, expected, actual)
  return bytes
}

/** `pl-PL,pl;q=0.9,en;q=0.5` -> ['pl-PL', 'pl', 'en'] (by quality, q=0 dropped). */
export function parseAcceptLanguage (header = '') {
  return String(header).split(',')
    .map((part, index) => {
      const [tag, ...params] = part.trim().split(';')
      const q = params.map(p => p.trim()).find(p => p.startsWith('q='))
      return { tag: tag.trim(), q: q ? Number(q.slice(2)) : 1, index }
    })
    .filter(e => e.tag && e.tag !== '*' && e.q > 0 && !Number.isNaN(e.q))
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map(e => e.tag)
}

const maximized = (tag) => {
  try {
    return new Intl.Locale(tag).maximize()
  } catch {
    return null
  }
}

/**
 * Pick the locale to serve: the user's choices first, then Accept-Language. A choice the
 * manifest has but may not serve (not live) goes down its own fallback chain; a choice it
 * lacks matches a live locale of the same language and script (CLDR's likely subtags, so
 * `zh-SG` finds `zh-Hans-SG`), preferring the same region. Default: the source locale.
 */
export function negotiate (manifest, { requested = [], acceptLanguage = '', allowUnreleased = false } = {}) {
  const entries = manifest.locales ?? {}
  const usable = (tag) => entries[tag] && (entries[tag].live || allowUnreleased)
  const wanted = [...[requested].flat().filter(Boolean), ...parseAcceptLanguage(acceptLanguage)]
  const live = Object.keys(entries).filter(t => entries[t].live)
  for (const tag of wanted) {
    const known = Object.keys(entries).find(t => t.toLowerCase() === String(tag).toLowerCase())
    if (known && usable(known)) return known
    if (known) {
      const next = entries[known].chain.find(t => entries[t]?.live)
      if (next) return next
    }
    const want = maximized(tag)
    if (!want) continue
    const same = live.filter(t => {
      const have = maximized(t)
      return have && have.language === want.language && have.script === want.script
    })
    const best = same.find(t => maximized(t).region === want.region) ?? same[0]
    if (best) return best
  }
  return manifest.source_locale
}

const DEFAULT_TAGS = {
  // Markup QA allows only these; by default they are dropped (plain text). Pass your own
  // renderers in `values` (e.g. b: chunks => <strong>{chunks}</strong>) for rich text.
  b: chunks => chunks.join(''),
  i: chunks => chunks.join(''),
  strong: chunks => chunks.join(''),
  em: chunks => chunks.join(''),
  br: () => '\n'
}

/** Create a client. `fetch`, `crypto` and `cache` are injectable (tests, service workers). */
export function createL10n ({ manifestUrl, fetch = globalThis.fetch, crypto = globalThis.crypto, cache = new Map(), onError = () => {} }) {
  if (!manifestUrl) throw new L10nError('createL10n needs a manifestUrl')
  let manifest = null
  const messages = new Map() // namespace -> { locale, body }
  const compiled = new Map()
  const state = { locale: null, chain: [] }

  const urlOf = (path) => new URL(`/${path}`, manifestUrl).toString()

  async function bundle (locale, namespace) {
    const path = manifest.bundles?.[locale]?.[namespace]
    if (!path) throw new L10nError(`no ${namespace} bundle for ${locale} in the manifest`)
    if (!cache.has(path)) {
      const bytes = await fetchVerified(urlOf(path), manifest.integrity?.[path], { fetch, crypto })
      cache.set(path, JSON.parse(new TextDecoder().decode(bytes)))
    }
    return cache.get(path)
  }

  return {
    get locale () { return state.locale },
    get chain () { return [...state.chain] },
    get manifest () { return manifest },

    /** Fetch the manifest (short-lived) and pick the locale. */
    async init ({ locale, acceptLanguage, allowUnreleased = false } = {}) {
      const response = await fetch(manifestUrl, { cache: 'no-cache' })
      if (!response.ok) throw new L10nError(`manifest ${manifestUrl}: HTTP ${response.status}`)
      manifest = await response.json()
      if (manifest.schema !== 2) throw new L10nError(`manifest schema ${manifest.schema}; this client reads 2`)
      state.locale = negotiate(manifest, { requested: locale, acceptLanguage, allowUnreleased })
      state.chain = manifest.locales[state.locale].chain
      messages.clear()
      return state.locale
    },

    /** Load namespaces: each from the first locale of the chain whose bundle verifies. */
    async load (namespaces) {
      if (!manifest) throw new L10nError('call init() before load()')
      await Promise.all([namespaces].flat().map(async (namespace) => {
        for (const locale of state.chain) {
          try {
            messages.set(namespace, { locale, body: await bundle(locale, namespace) })
            return
          } catch (error) {
            onError(error) // a tampered or missing bundle is never used; try the next locale
          }
        }
        throw new L10nError(`no verified ${namespace} bundle along ${state.chain.join(' -> ')}`)
      }))
    },

    /** Format `namespace.key` with ICU MessageFormat in the locale its text is in. */
    format (id, values = {}) {
      const [namespace, ...rest] = id.split('.')
      const key = rest.join('.')
      const loaded = messages.get(namespace)
      if (!loaded) throw new L10nError(`namespace ${namespace} is not loaded; await load(['${namespace}'])`)
      const text = loaded.body[key]
      if (text === undefined) throw new L10nError(`no message ${id} in the ${namespace} bundle`)
      const entry = manifest.locales[state.locale]
      const locale = loaded.locale !== state.locale ? loaded.locale : (entry.fallbacks?.[id] ?? state.locale)
      const formatLocale = manifest.locales[locale]?.pseudo ? manifest.source_locale : locale
      const cacheKey = `${formatLocale}\u0000${text}`
      if (!compiled.has(cacheKey)) {
        // FormatJS reads tags only in pairs: the allowed <br/> becomes an empty pair.
        compiled.set(cacheKey, new IntlMessageFormat(text.replaceAll('<br/>', '<br></br>'), formatLocale))
      }
      return compiled.get(cacheKey).format({ ...DEFAULT_TAGS, ...values })
    },

    /** An amount in a currency, formatted for the current locale (CLDR through Intl). */
    formatCurrency (amount, currency) {
      return new Intl.NumberFormat(state.locale, { style: 'currency', currency }).format(amount)
    }
  }
}
