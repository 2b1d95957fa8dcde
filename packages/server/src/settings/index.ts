// The settings room: the declarative configuration file (warbler.yaml, at
// WARBLER_CONFIG) and what it builds: the Router, the price table and the
// currency rates. Environment-only settings stay in ../config.ts.
export {
  WarblerConfigError,
  formatPath,
  loadWarblerConfig,
  parseWarblerConfig,
  type ConfigIssue,
  type FileAgent,
  type FileAgentTool,
  type FileDeployment,
  type FileModel,
  type FileProvider,
  type FileRoute,
  type FileRouterOptions,
  type WarblerFile,
} from './warbler-file.ts';
export {
  DEFAULT_MODELS,
  buildRouter,
  currencyRatesFrom,
  openAiPassThrough,
  planRoutes,
  priceTableFrom,
  type BuildRouterOptions,
  type LocalProviders,
  type RoutePlan,
} from './build-router.ts';
export { ConsoleProviders, configuredProviders, type ConsoleProvidersOptions } from './console-providers.ts';
