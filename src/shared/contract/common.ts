/** Removes a listener registered with an `onX` event method. */
export type Unsubscribe = () => void;

/** An `onX` event of a contract group: register a listener, get a function that removes it. */
export type EventSource<Payload> = (listener: (payload: Payload) => void) => Unsubscribe;
