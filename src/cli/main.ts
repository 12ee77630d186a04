import { tuneHeap } from '../util/heap.ts';
import { main } from './program.ts';

// Entry point of bin/possync.js. Exit once stdout has drained (a piped --json document must
// arrive whole), even if a library left a timer or socket behind.
tuneHeap();
const code = await main(process.argv);
process.stdout.write('', () => process.exit(code));
