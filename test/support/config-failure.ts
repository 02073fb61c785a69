import { type ConfigError, isConfigError } from "../../src/config/errors.js";

/** The ConfigError `run` throws; fails the test if it throws nothing or something else. */
export function failure(run: () => unknown): ConfigError {
  try {
    run();
  } catch (err) {
    if (isConfigError(err)) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}
