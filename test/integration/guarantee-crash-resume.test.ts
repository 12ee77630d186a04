import { describeCrashResume } from '../support/crash-resume-suite.ts';

// Guarantee 2, the till connected to Postgres directly. The workload lives in the suite file so
// that pgbouncer-crash.test.ts runs the same kills through a transaction-pooling proxy.
describeCrashResume();
