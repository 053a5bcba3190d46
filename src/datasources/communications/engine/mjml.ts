import mjml2html from 'mjml';
import { TemplateError } from './errors.js';

/**
 * These components put random ids into their markup, so the same template would give different
 * bytes (and content hashes) in different processes. Regulated letters do not need them.
 */
const NON_DETERMINISTIC = /<mj-(carousel|navbar)\b/i;

/**
 * A validation complaint about an attribute whose value is a Handlebars expression, e.g.
 * background-color="{{brand.primaryColour}}": mjml sees the expression, not the colour. The
 * markup is still emitted with the expression in place, and Handlebars fills it in afterwards.
 */
function isHandlebarsAttributeComplaint(message: string): boolean {
  return /^Attribute \S+ has invalid value: .*\{\{.*\}\}/.test(message);
}

/** Compiles MJML (which may contain Handlebars expressions) to HTML; any fault is a TemplateError. */
export async function compileMjml(source: string, label: string): Promise<string> {
  if (NON_DETERMINISTIC.test(source)) {
    throw new TemplateError(
      `${label}: mj-carousel and mj-navbar are not supported (their output is not reproducible)`,
    );
  }
  let result: Awaited<ReturnType<typeof mjml2html>>;
  try {
    result = await mjml2html(source, {
      // 'soft' so that Handlebars-valued attributes can be told apart from real errors below.
      validationLevel: 'soft',
      keepComments: false,
      // No web-font links: a regulated email must not make the reader's client call third parties.
      fonts: {},
      // mj-include would read files from the server's disk.
      ignoreIncludes: true,
      beautify: false,
      minify: false,
    });
  } catch (err) {
    throw new TemplateError(`${label}: ${(err as Error).message}`, { cause: err });
  }
  const errors = (result.errors ?? []).filter((e) => !isHandlebarsAttributeComplaint(e.message));
  if (errors.length > 0) {
    throw new TemplateError(`${label}: ${errors.map((e) => e.formattedMessage || e.message).join('; ')}`);
  }
  if (!/<body[\s>]/i.test(result.html)) {
    throw new TemplateError(`${label}: MJML produced no document (is the <mjml><mj-body> root missing?)`);
  }
  return result.html;
}
