// UUID v4 from crypto.getRandomValues. crypto.randomUUID is not used: it
// exists only in secure contexts, and sites on plain http must work too.

export function uuid(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; // version 4
  b[8] = (b[8] & 0x3f) | 0x80; // RFC 4122 variant
  let s = "";
  for (let i = 0; i < 16; i++) {
    s += (b[i] | 0x100).toString(16).slice(1);
    if (i == 3 || i == 5 || i == 7 || i == 9) s += "-";
  }
  return s;
}

const pattern = /^[\da-f]{8}-[\da-f]{4}-4[\da-f]{3}-[89ab][\da-f]{3}-[\da-f]{12}$/;

/** Reports whether s is a lower-case UUID v4 as made by uuid(). */
export const isUUID = (s: unknown): s is string =>
  typeof s == "string" && pattern.test(s);
