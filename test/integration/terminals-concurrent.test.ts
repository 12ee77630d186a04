import { describeConcurrentTerminals } from '../support/terminals-concurrent-suite.ts';

// Guarantee 9, many tills at the same moment, each till connected to Postgres directly. The
// workloads live in the suite file so that pgbouncer-terminals.test.ts runs the same ones through
// a transaction-pooling proxy.
describeConcurrentTerminals();
