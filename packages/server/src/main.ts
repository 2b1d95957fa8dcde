import { buildWarbler } from './app.ts';
import { ConfigError, loadConfig } from './config.ts';

/** `warbler serve`: starts on the embedded defaults unless the environment says otherwise. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const warbler = await buildWarbler(config);
  const url = await warbler.listen();
  const store = config.databaseUrl ? 'PostgreSQL' : `SQLite at ${config.dataDir}/warbler.db`;
  console.log(
    [
      '',
      `Warbler is running at ${config.publicUrl ?? url}`,
      `  store:          ${store}`,
      `  default app id: ${warbler.defaultApp.appId}`,
      `  app secret in:  ${warbler.defaultApp.secretFile}`,
      `  master key:     ${warbler.masterKeyFile ? `in ${warbler.masterKeyFile}` : 'from WARBLER_MASTER_KEY'}`,
      `  API reference:  ${url}/openapi.json   realtime: ${url.replace('http', 'ws')}/ws`,
      '',
    ].join('\n'),
  );
  if (config.devSignIn) {
    // Loud on purpose: on a server other people can reach, anyone can sign in under any new name.
    console.warn(
      [
        '!!! Sign-in by name is ON: anyone who can reach this server can sign in under any new name (as ~name, never as',
        '!!! a user your backend created). Fine for trying Warbler out; switch it off in production:',
        '!!!     WARBLER_DEV_SIGN_IN=false',
        '',
      ].join('\n'),
    );
  }

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: finishing in-flight work and closing sockets with a reconnect hint`);
    const force = setTimeout(() => {
      console.error('Shutdown took too long; exiting.');
      process.exit(1);
    }, config.shutdownGraceMs);
    force.unref();
    await warbler.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  console.error('Warbler failed to start:', err);
  process.exit(1);
});
