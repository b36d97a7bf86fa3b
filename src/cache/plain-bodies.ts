import { LRUCache } from 'lru-cache'
import { type DecodedEntry, EntryDecodeError, etagOf, plainBody } from './entry-codec.ts'

/**
 * Inflated bodies for clients that do not accept gzip, remembered by ETag. An entry stores its body gzip-compressed
 * once; inflating it on every hit for such a client cost more than the rest of the hit. The ETag is the SHA-256 of
 * the plain body, so equal ETags mean equal bytes whichever entry, query or process they come from, and a
 * remembered body can never be the wrong one. Each inflated body is checked against its ETag before it is
 * remembered or served: a body that does not match (a damaged entry) is an EntryDecodeError, never sent.
 */
export class PlainBodies {
  private readonly lru: LRUCache<string, Buffer>

  constructor(options: { maxBytes: number }) {
    this.lru = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (body, etag) => body.length + etag.length + 64,
    })
  }

  /** The plain body of an entry, inflated at most once per ETag while it stays in memory. */
  of(entry: DecodedEntry): Buffer {
    const known = this.lru.get(entry.etag)
    if (known) return known
    const plain = plainBody(entry)
    if (etagOf(plain) !== entry.etag) throw new EntryDecodeError('entry body does not match its ETag')
    this.lru.set(entry.etag, plain)
    return plain
  }
}
