// Nothing the widget does may throw into the host page: entry points,
// event handlers and API calls are wrapped so that an error is logged
// instead.

/** Logs an error of the widget. */
export const warn = (e: unknown) => console.warn("consentd:", e);

/** Wraps fn so that an error is logged instead of thrown into the caller. */
export const safe =
  <A extends unknown[], R>(fn: (...a: A) => R) =>
  (...a: A): R | undefined => {
    try {
      return fn(...a);
    } catch (e) {
      warn(e);
    }
  };
