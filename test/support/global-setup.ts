import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/db/postgres/embedded.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of a Postgres database this suite may create and drop databases with. */
    pgAdminUrl: string;
  }
}

let server: EmbeddedServer | undefined;

/**
 * One real PostgreSQL for the whole suite: TEST_DATABASE_URL when set, otherwise a throwaway
 * embedded server that is stopped (and its files removed) in teardown.
 */
export async function setup(project: TestProject): Promise<void> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) {
    project.provide('pgAdminUrl', given);
    return;
  }
  server = await startEmbeddedPostgres();
  project.provide('pgAdminUrl', server.url());
}

export async function teardown(): Promise<void> {
  await server?.stop();
  server = undefined;
}
