export * from './accounts';
export * from './platform';
export * from './sandboxes';
export * from './events';
export * from './snapshots';
export * from './billing';
export * from './computers';
export * from './deployments';
