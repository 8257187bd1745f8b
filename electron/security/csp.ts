/**
 * The Content-Security-Policy every renderer page is served with, by the Electron
 * shell's `app://` protocol handler and by the browser host alike (DESIGN §2:
 * "a strict CSP, no remote content").
 *
 * Everything comes from the app's own origin: no inline or evaluated script, no
 * remote styles, images only from the app or `data:` URLs (inline SVG icons), network
 * only back to the app itself (the browser host's WebSocket), no plugins, no `<base>`,
 * never framed, no form posts.
 */

/** The CSP directives, in the order they are sent. */
export const CSP_DIRECTIVES: Readonly<Record<string, readonly string[]>> = Object.freeze({
  'default-src': ["'self'"],
  // 'self' is safe here: the origin serves only our own build (no JSONP endpoint, no
  // Angular templates, no user uploads) — the one remark csp-evaluator makes.
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'", 'data:'],
  'connect-src': ["'self'"],
  'object-src': ["'none'"],
  'base-uri': ["'none'"],
  'frame-ancestors': ["'none'"],
  'form-action': ["'none'"],
});

/** The policy as one header value. */
export const CONTENT_SECURITY_POLICY: string = Object.entries(CSP_DIRECTIVES)
  .map(([name, sources]) => `${name} ${sources.join(' ')}`)
  .join('; ');

/**
 * Response headers that go with every renderer document and asset: the CSP plus the
 * usual hardening headers (no MIME sniffing, no referrer, an isolated browsing context).
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
});
