// The till-scan worker's entry when possync runs from its TypeScript sources (tests, scripts):
// a worker thread does not inherit the parent's module hooks, so it registers tsx's loader
// itself, then loads the worker. The bundle never starts this file (till-parallel.ts).
import { register } from 'tsx/esm/api';

register();
await import('./till-worker.ts');
