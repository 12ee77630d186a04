#!/usr/bin/env node
// The possync command. It runs the TypeScript sources directly through tsx's loader, so a fresh
// clone works after `npm install` with no build step.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
