// A few lines of DOM building: every value reaches the page as text (textContent, attributes), never as markup.

type Child = Node | string | number | null | undefined | false

/** Attributes of `el`: strings set as attributes, `dataset` entries as data-*, functions as listeners (`on<event>`). */
export interface Attributes {
  [name: string]: string | number | boolean | undefined | ((event: Event) => void) | Record<string, string>
}

/** Creates an element with attributes and children (strings become text nodes). */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    if (typeof value === 'function') node.addEventListener(name.slice(2).toLowerCase(), value)
    else if (name === 'dataset' && typeof value === 'object') Object.assign(node.dataset, value)
    else if (typeof value !== 'object') node.setAttribute(name, value === true ? '' : String(value))
  }
  append(node, ...children)
  return node
}

/** Appends children, skipping empty ones. */
export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue
    parent.appendChild(child instanceof Node ? child : document.createTextNode(String(child)))
  }
}

/** Replaces every child of `parent`. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, ...children)
}

/** The element with this id, which the page's HTML must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id)
  if (!node) throw new Error(`the page has no #${id}`)
  return node as T
}

/** A table with a header row; `empty` is shown in place of the body when there are no rows. */
export function table(
  headings: string[],
  rows: Array<Array<Node | string>>,
  options: { empty: string; caption?: string } = { empty: 'none' },
): HTMLElement {
  if (rows.length === 0) return el('p', { class: 'empty' }, options.empty)
  return el(
    'div',
    { class: 'table-wrap' },
    el(
      'table',
      {},
      options.caption ? el('caption', {}, options.caption) : null,
      el('thead', {}, el('tr', {}, ...headings.map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, ...rows.map((cells) => el('tr', {}, ...cells.map((c) => el('td', {}, c))))),
    ),
  )
}

/** A `<dl class="facts">` of name/value pairs, each pair in its own group so that it wraps as one. */
export function facts(
  pairs: Array<[string, Node | string] | null>,
  attributes: Attributes = {},
): HTMLDListElement {
  return el(
    'dl',
    { ...attributes, class: `facts ${attributes.class ?? ''}`.trim() },
    ...pairs.map((pair) => (pair ? el('div', {}, el('dt', {}, pair[0]), el('dd', {}, pair[1])) : null)),
  )
}
