/** `ch` as a RegExp escape that is valid inside and outside a class in unicode mode. */
const literal = (ch: string): string => `\\u{${ch.codePointAt(0)!.toString(16)}}`;

/**
 * A test for Redis' glob syntax (as SCAN MATCH reads it): `*` any run, `?` one character, `[abc]`,
 * `[^abc]`, `[a-z]` (a reversed range too), `\` escaping the next character, an unclosed `[` taking
 * the rest of the pattern as its set. Matches characters where Redis matches bytes, which differs
 * only for `?` and sets against non-ASCII text.
 */
export function globMatcher(pattern: string): (key: string) => boolean {
  if (pattern === '*') return () => true;
  const chars = [...pattern];
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i];
    if (ch === '*') {
      while (chars[i + 1] === '*') i++;
      source += '[^]*';
    } else if (ch === '?') {
      source += '[^]';
    } else if (ch === '\\' && i + 1 < chars.length) {
      source += literal(chars[++i]);
    } else if (ch === '[') {
      i++;
      const negated = chars[i] === '^';
      if (negated) i++;
      let set = '';
      for (; i < chars.length && chars[i] !== ']'; i++) {
        if (chars[i] === '\\' && i + 1 < chars.length) {
          set += literal(chars[++i]);
        } else if (chars[i + 1] === '-' && i + 2 < chars.length) {
          const [from, to] = [chars[i], chars[i + 2]].sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
          set += `${literal(from)}-${literal(to)}`;
          i += 2;
        } else {
          set += literal(chars[i]);
        }
      }
      source += negated ? `[^${set}]` : set === '' ? '(?!)' : `[${set}]`;
    } else {
      source += literal(ch);
    }
  }
  const re = new RegExp(`^${source}$`, 'u');
  return (key) => re.test(key);
}
