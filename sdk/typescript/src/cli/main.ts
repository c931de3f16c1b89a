/**
 * The `rubric` command line: the program, its global options and exit codes.
 * Each command group lives in its own file and registers itself on the
 * program; {@link COMMANDS} lists them.
 */
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { registerDeliveries } from "./deliveries.js";
import { registerEvents } from "./events.js";
import { registerListen } from "./listen.js";
import { EXIT, reportError } from "./output.js";
import { registerRetryFailed } from "./retry-failed.js";
import { registerWebhooks } from "./webhooks.js";

/** Registers one command (or group) on the program. */
export type Register = (program: Command) => void;

/**
 * Every command group, in the order `--help` lists them. Adding a command is
 * one file exporting a {@link Register} and one entry here.
 */
export const COMMANDS: Register[] = [
  registerWebhooks,
  registerEvents,
  registerDeliveries,
  registerRetryFailed,
  registerListen,
];

const VERSION = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** The program with every command registered; usage errors throw instead of exiting (see {@link run}). */
export function buildProgram(): Command {
  const program = new Command("rubric")
    .description("Rubric Webhooks from the command line: manage webhooks, send events, watch and retry deliveries")
    .version(VERSION)
    .option("--base-url <url>", "API origin (default: $RUBRIC_BASE_URL, else http://127.0.0.1:8787)")
    .option("--api-key <key>", "API key (default: $RUBRIC_API_KEY)")
    .option("--json", "print the API's JSON (lists: the array of items) instead of tables; errors as JSON on stderr")
    .option("--no-color", "no colour (also NO_COLOR=1; off anyway when not a terminal)")
    .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
    .showHelpAfterError("(add --help for usage)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Environment: RUBRIC_BASE_URL, RUBRIC_API_KEY (npm start prints both); the flags win.
Exit codes: 0 done, 1 the API refused the call or could not be reached (the error's message is
printed; with --json its error body on stderr) or the work failed, 2 a usage error.`,
    );
  // Settings made above (exitOverride, help) are inherited by the commands added from here on.
  for (const register of COMMANDS) register(program);
  return program;
}

/**
 * `rubric … | head` closes the pipe early: that is the reader being done, not an error, so the
 * process just ends instead of dying on an unhandled EPIPE with a stack trace.
 */
function quietOnClosedPipe(stream: NodeJS.WriteStream) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE") throw err;
    process.exit(typeof process.exitCode === "number" ? process.exitCode : EXIT.ok);
  });
}

/** Runs the CLI on `argv` (as process.argv) and resolves to the exit code. */
export async function run(argv: string[] = process.argv): Promise<number> {
  quietOnClosedPipe(process.stdout);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message (or the help) already.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const json = program.opts().json === true || argv.includes("--json");
    return reportError(err, json);
  }
}
