import { BadRequestException, type PipeTransform } from '@nestjs/common';
import type { BodyOf, BodySchema } from './body.rules.js';

/**
 * Validates a request body against a {@link BodySchema}: a 400 `{ statusCode, message, error }` whose message
 * names every wrong, missing or unknown field, so `{"to": [...]}` sent where `recipients` is expected is refused.
 */
export class BodyPipe<S extends BodySchema> implements PipeTransform<unknown, BodyOf<S>> {
  constructor(private readonly schema: S) {}

  transform(body: unknown): BodyOf<S> {
    // No body at all (no content type) counts as an empty one.
    const input = body ?? {};
    if (typeof input !== 'object' || Array.isArray(input)) {
      throw new BadRequestException('the request body must be a JSON object');
    }
    const fields = Object.keys(this.schema);
    const problems: string[] = [];
    const out: Record<string, unknown> = {};
    for (const field of fields) {
      const checked = this.schema[field]((input as Record<string, unknown>)[field], field);
      if ('problem' in checked) problems.push(checked.problem);
      else out[field] = checked.value;
    }
    for (const field of Object.keys(input).filter((f) => !Object.hasOwn(this.schema, f))) {
      problems.push(
        fields.length === 0
          ? `${field} is not a field of this route (it takes no body)`
          : `${field} is not a field of this route (it takes ${fields.join(', ')})`,
      );
    }
    if (problems.length > 0) throw new BadRequestException(problems.join('; '));
    return out as BodyOf<S>;
  }
}
