// The cluster concern's public surface (see leadership.ts).
export * from './leadership';
