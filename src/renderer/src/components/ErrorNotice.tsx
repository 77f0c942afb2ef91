interface ErrorNoticeProps {
  message: string | null;
  onDismiss?: () => void;
  testId?: string;
}

/** An error message with an optional dismiss button. */
export function ErrorNotice({ message, onDismiss, testId = "error-notice" }: ErrorNoticeProps) {
  if (!message) return null;
  return (
    <div className="notice notice-error" role="alert" data-testid={testId}>
      <span>{message}</span>
      {onDismiss && (
        <button type="button" className="button button-small button-ghost" onClick={onDismiss} aria-label="Dismiss error">
          ✕
        </button>
      )}
    </div>
  );
}
