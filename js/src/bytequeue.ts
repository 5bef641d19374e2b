/** A FIFO of bytes read from a stream in arbitrary pieces: push pieces, take exact sizes. */
export class ByteQueue {
  #pieces: Uint8Array[] = [];
  #offset = 0; // into the first piece
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.#length += piece.length;
  }

  /** The first `size` bytes (at most `length`), removed from the queue, as one array. */
  take(size: number): Uint8Array {
    const n = Math.min(size, this.#length);
    const first = this.#pieces[0];
    if (first !== undefined && first.length - this.#offset >= n) {
      const out = first.subarray(this.#offset, this.#offset + n);
      this.#advance(n);
      return out;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.#pieces[0] as Uint8Array;
      const part = piece.subarray(this.#offset, this.#offset + (n - filled));
      out.set(part, filled);
      filled += part.length;
      this.#advance(part.length);
    }
    return out;
  }

  /** A copy of the first `size` bytes (at most `length`), left in the queue. */
  peek(size: number): Uint8Array {
    const n = Math.min(size, this.#length);
    const out = new Uint8Array(n);
    let filled = 0;
    let offset = this.#offset;
    for (const piece of this.#pieces) {
      if (filled >= n) break;
      const part = piece.subarray(offset, offset + (n - filled));
      out.set(part, filled);
      filled += part.length;
      offset = 0;
    }
    return out;
  }

  #advance(n: number): void {
    this.#length -= n;
    this.#offset += n;
    while (this.#pieces.length > 0 && this.#offset >= (this.#pieces[0] as Uint8Array).length) {
      this.#offset -= (this.#pieces[0] as Uint8Array).length;
      this.#pieces.shift();
    }
  }
}
