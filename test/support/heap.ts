import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

// A test's own view of what stays reachable: V8's gc() without --expose-gc
// on the command line (the flag set now applies to contexts made after it).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** Bytes of heap in use after two full collections: what something still keeps alive. */
export function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
