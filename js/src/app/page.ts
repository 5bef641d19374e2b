/**
 * What a page tells its script: the session's CSRF token and the signed-in person
 * (`<meta name="custody-…">`), and page data (`<script type="application/json"
 * id="page-data">`, which a strict CSP allows because it is never executed).
 */

export interface Person {
  readonly userId: string;
  readonly email: string;
  readonly role: string;
  readonly org: string;
}

function meta(name: string): string {
  const tag = document.querySelector<HTMLMetaElement>(`meta[name="custody-${name}"]`);
  if (tag === null) throw new Error(`the page has no custody-${name}`);
  return tag.content;
}

export function csrfToken(): string {
  return meta("csrf");
}

export function person(): Person {
  return { userId: meta("user"), email: meta("email"), role: meta("role"), org: meta("org") };
}

/** The log key the server says it signs with: checked against the pinned one, never adopted. */
export function serverLogKey(): string {
  return meta("log-key");
}

export function pageData<T>(): T {
  const tag = document.getElementById("page-data");
  if (tag === null || tag.textContent === null) throw new Error("the page has no data");
  return JSON.parse(tag.textContent) as T;
}

/** Show `text` in the element with id `id` (an aria-live region, so it is announced). */
export function say(id: string, text: string): void {
  const node = document.getElementById(id);
  if (node !== null) node.textContent = text;
}

export function element<T extends HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node as T;
}
