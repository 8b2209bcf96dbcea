import { z } from 'zod';
import { AppError } from '../util/errors.ts';

const DATA_TYPES = ['string', 'password', 'numeric', 'boolean', 'ph'] as const;
const ACTION_TYPES = ['investigate', 'contain', 'correct', 'generic', 'test'] as const;

const configField = z.object({
  data_type: z.enum(DATA_TYPES),
  required: z.boolean().optional(),
  order: z.number().int().optional(),
  description: z.string().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  value_list: z.array(z.string()).optional(),
});

const parameter = z.object({
  data_type: z.enum(DATA_TYPES),
  required: z.boolean().optional(),
  primary: z.boolean().optional(),
  contains: z.array(z.string()).optional(),
  order: z.number().int().optional(),
  description: z.string().optional(),
  default: z.union([z.string(), z.number(), z.boolean()]).optional(),
  value_list: z.array(z.string()).optional(),
});

const outputField = z.object({
  data_path: z.string().regex(/^action_result\./, 'must start with "action_result."'),
  data_type: z.string(),
  contains: z.array(z.string()).optional(),
  example_values: z.array(z.unknown()).optional(),
});

const action = z.object({
  action: z.string().min(1),
  identifier: z.string().regex(/^[a-z][a-z0-9_]*$/, 'must be lower_snake_case'),
  description: z.string(),
  type: z.enum(ACTION_TYPES),
  read_only: z.boolean(),
  parameters: z.record(z.string(), parameter),
  output: z.array(outputField),
  versions: z.string().optional(),
  /** Portcullis extension: this action's time limit in seconds (default: the server's action timeout). */
  timeout: z.number().int().positive().optional(),
});

/** The Splunk SOAR connector JSON shape Portcullis accepts for an app manifest. */
export const appManifestSchema = z
  .object({
    appid: z
      .string()
      .regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i, 'must be a UUID'),
    name: z.string().min(1),
    description: z.string(),
    type: z.string().min(1),
    app_version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a version such as 1.0.0'),
    product_vendor: z.string().min(1),
    product_name: z.string().min(1),
    publisher: z.string().min(1),
    license: z.string().optional(),
    logo: z.string().optional(),
    min_phantom_version: z.string().optional(),
    package_name: z.string().optional(),
    configuration: z.record(z.string(), configField),
    actions: z.array(action).min(1),
  })
  .superRefine((m, ctx) => {
    const seen = new Set<string>();
    m.actions.forEach((a, i) => {
      if (seen.has(a.identifier))
        ctx.addIssue({
          code: 'custom',
          path: ['actions', i, 'identifier'],
          message: `duplicate action identifier "${a.identifier}"`,
        });
      seen.add(a.identifier);
    });
    if (!m.actions.some((a) => a.identifier === 'test_connectivity'))
      ctx.addIssue({
        code: 'custom',
        path: ['actions'],
        message: 'every app needs a "test connectivity" action (identifier test_connectivity)',
      });
  });

export type AppManifest = z.output<typeof appManifestSchema>;
export type AppActionManifest = AppManifest['actions'][number];
export type ManifestParameter = z.output<typeof parameter>;
export type ManifestConfigField = z.output<typeof configField>;

/** Formats a zod issue path as a JSON pointer (RFC 6901). */
export function jsonPointer(path: ReadonlyArray<PropertyKey>): string {
  return path.map((p) => `/${String(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/**
 * Validates an app manifest. Throws an AppError (`invalid_manifest`) whose message names every
 * problem by JSON pointer, e.g. `/actions/0/type: Invalid option`.
 */
export function parseAppManifest(input: unknown, source = 'app manifest'): AppManifest {
  const r = appManifestSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ pointer: jsonPointer(i.path) || '/', message: i.message }));
  throw new AppError(
    'invalid_manifest',
    `${source}: ${issues.map((i) => `${i.pointer}: ${i.message}`).join('; ')}`,
    { details: { issues } },
  );
}
