import type { ReactNode } from "react";

interface CardProps {
  title?: string;
  /** Buttons or badges on the right of the title. */
  actions?: ReactNode;
  children: ReactNode;
  testId?: string;
  className?: string;
}

/** A titled section of a screen (a region named by its title). */
export function Card({ title, actions, children, testId, className }: CardProps) {
  return (
    <section className={`card${className ? ` ${className}` : ""}`} aria-label={title} data-testid={testId}>
      {(title || actions) && (
        <header className="card-header">
          {title && <h2 className="card-title">{title}</h2>}
          {actions && <div className="card-actions">{actions}</div>}
        </header>
      )}
      {children}
    </section>
  );
}
