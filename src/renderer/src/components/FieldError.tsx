/** Props that tie an input to its error message: spread them onto the input. */
export function fieldErrorProps(errorId: string, error: string | null | undefined): { "aria-invalid": boolean; "aria-describedby"?: string } {
  return error ? { "aria-invalid": true, "aria-describedby": errorId } : { "aria-invalid": false };
}

interface FieldErrorProps {
  /** The id the input's `aria-describedby` names (see {@link fieldErrorProps}). */
  id: string;
  message: string | null | undefined;
  testId?: string;
}

/** The error of one form field, shown right under it (nothing when there is none). */
export function FieldError({ id, message, testId }: FieldErrorProps) {
  if (!message) return null;
  return (
    <span className="field-error" id={id} role="alert" data-testid={testId}>
      {message}
    </span>
  );
}
