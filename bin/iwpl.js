#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx's loader), so `npx iwpl` never runs a stale build.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
