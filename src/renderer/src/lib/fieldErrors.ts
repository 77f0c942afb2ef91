/**
 * Putting a core error next to the form field that caused it. Contract errors name the
 * offending request parameter in `param` (a zod path such as "origins[1]" or "price.input");
 * a form maps that onto one of its fields, and an error without a param (or naming no field of
 * the form) stays at the form's top.
 */

/** The `param` of an RPC/contract error, when it has one. */
export function errorParam(error: unknown): string | undefined {
  return typeof error === "object" && error !== null && "param" in error && typeof error.param === "string" && error.param !== "" ? error.param : undefined;
}

/** The first segment of a param path: "origins[2]" → "origins", "price.input" → "price". */
export function paramRoot(param: string): string {
  return /^[^.[]*/.exec(param)![0];
}

/**
 * The field of a form an error belongs to: `fields` maps param roots (or exact params) to the
 * form's field names; undefined when the error names none of them.
 */
export function fieldOfError<Field extends string>(error: unknown, fields: Readonly<Record<string, Field>>): Field | undefined {
  const param = errorParam(error);
  if (param === undefined) return undefined;
  return Object.hasOwn(fields, param) ? fields[param] : Object.hasOwn(fields, paramRoot(param)) ? fields[paramRoot(param)] : undefined;
}

/** A field's error, and where the form shows an error that names no field. */
export interface FormErrors<Field extends string> {
  /** Errors shown under their field. */
  fields: Partial<Record<Field, string>>;
  /** The error shown at the form's top (no param, or one the form has no field for). */
  form: string | null;
}
