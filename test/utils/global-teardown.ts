/** Stops what global-setup started. */
export default async function globalTeardown(): Promise<void> {
  await Promise.all((globalThis.__NB_SERVERS__ ?? []).map((s) => s.destroy()));
}
