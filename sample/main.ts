import { createSampleApp } from './bootstrap.js';
import { SampleConfigError } from './config/sample-config.error.js';

async function main(): Promise<void> {
  const app = await createSampleApp(process.env);
  const port = Number(process.env.PORT ?? 3000);
  await app.listen(port, '127.0.0.1');
  console.log(`nestjs-backends sample on http://127.0.0.1:${port} (outbox: http://127.0.0.1:${port}/outbox)`);
}

main().catch((err: unknown) => {
  // One line naming the variable: no stack trace, no secret.
  const line =
    err instanceof SampleConfigError ? err.message : `startup failed: ${(err as Error)?.message ?? String(err)}`;
  console.error(`sample: ${line}`);
  process.exit(1);
});
