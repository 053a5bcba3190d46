import type { z } from 'zod';

/**
 * Parses a JSON setting against its schema. Problems are appended (one per issue, named by the
 * setting and the path inside it) rather than thrown, so one start reports every bad setting;
 * the fallback stands in until the start is refused.
 */
export function parseJsonSetting<T>(
  name: string,
  raw: string,
  schema: z.ZodType<T>,
  problems: string[],
  fallback: T,
): T {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    problems.push(`${name}: not JSON`);
    return fallback;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    for (const issue of parsed.error.issues)
      problems.push(`${name}.${issue.path.join('.')}: ${issue.message}`);
    return fallback;
  }
  return parsed.data;
}
