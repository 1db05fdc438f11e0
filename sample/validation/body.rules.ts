/** Checks one field of a request body: returns the value to use, or a sentence naming what is wrong. */
export type FieldRule<T> = (value: unknown, field: string) => { value: T } | { problem: string };

/** The rules of one route's body, by field name. */
export type BodySchema = Record<string, FieldRule<unknown>>;

/** The checked body a {@link BodySchema} produces. */
export type BodyOf<S extends BodySchema> = { [K in keyof S]: S[K] extends FieldRule<infer T> ? T : never };

/** A required non-empty string of at most `maxLength` characters. */
export function requiredText(maxLength: number): FieldRule<string> {
  return (value, field) =>
    typeof value === 'string' && value.trim() !== '' && value.length <= maxLength
      ? { value }
      : { problem: `${field} must be a non-empty string of at most ${maxLength} characters` };
}

/** An optional string of at most `maxLength` characters (`undefined` when absent or empty). */
export function optionalText(maxLength: number): FieldRule<string | undefined> {
  return (value, field) => {
    if (value === undefined || value === null || value === '') return { value: undefined };
    return typeof value === 'string' && value.length <= maxLength
      ? { value }
      : { problem: `${field} must be a string of at most ${maxLength} characters when given` };
  };
}

/**
 * A non-empty array of at most `maxItems` address strings. Whether each one is a valid address is left to the
 * email backend, which reports it per recipient.
 */
export function addressList(maxItems: number): FieldRule<string[]> {
  return (value, field) => {
    if (!Array.isArray(value) || value.length === 0 || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
      return { problem: `${field} must be a non-empty array of email addresses` };
    }
    if (value.length > maxItems) return { problem: `${field} must list at most ${maxItems} email addresses` };
    return { value: value as string[] };
  };
}
