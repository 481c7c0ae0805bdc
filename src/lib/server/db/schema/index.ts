export * from './accounts';
export * from './platform';
export * from './sandboxes';
export * from './events';
