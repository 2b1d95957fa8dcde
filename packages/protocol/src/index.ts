export * from './models.ts';
export * from './errors.ts';
export * from './frames.ts';
export * from './webhooks.ts';
export * from './widget.ts';
export * from './audit.ts';
export * from './experiments.ts';
export * from './encryption.ts';
