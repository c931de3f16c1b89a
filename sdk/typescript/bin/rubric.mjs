#!/usr/bin/env node
// The `rubric` command (npx rubric …): runs the CLI built into dist/cli (tsc -p tsconfig.cli.json).
import { run } from "../dist/cli/main.js";

process.exitCode = await run(process.argv);
