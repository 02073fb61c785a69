import { canonicalLocalpart } from "../protocol/jid.js";
import { forbiddenCharacterReason } from "./localpart.js";

/**
 * Localpart globs: `*` matches any run of characters (including none), `?`
 * exactly one character (one Unicode code point); everything else matches
 * itself, case-sensitively; a glob is written in the canonical form
 * localparts are compared in (lower case: src/protocol/jid.ts), so a capital
 * is refused rather than never matching. There is no escape: `?` also matches a literal
 * `*` or `?`. Globs are matched against the localpart only, never the full JID.
 *
 * Matching is the classic two-pointer wildcard algorithm that remembers only
 * the last `*`: worst case O(pattern x subject), never exponential, and no
 * regular expression is ever built from configuration text.
 */

const STAR = "*";
const ANY = "?";

export const MAX_GLOB_BYTES = 1023;

/** Why `glob` is unusable, as a clause starting with "it", or undefined if it is fine. */
export function globProblem(glob: string): string | undefined {
  if (glob === "") return "it is empty";
  const bytes = Buffer.byteLength(glob, "utf8");
  if (bytes > MAX_GLOB_BYTES)
    return `it is ${bytes} bytes long in UTF-8; the limit is ${MAX_GLOB_BYTES}`;
  for (const ch of glob) {
    if (/\p{Cc}/u.test(ch)) return forbiddenCharacterReason(ch);
    const reason = forbiddenCharacterReason(ch);
    if (reason !== undefined) {
      // A character no localpart can hold makes the glob match nothing: almost
      // always a full JID ("alice@example.com") written where a localpart belongs.
      return `${reason}, so it could never match (globs match the localpart only, not the full JID)`;
    }
  }
  const canonical = canonicalLocalpart(glob);
  if (canonical !== glob) {
    return `it would never match: localparts are compared case-folded and width-mapped (PRECIS UsernameCaseMapped); write ${JSON.stringify(canonical)}`;
  }
  return undefined;
}

type Pattern = readonly string[];

function matchChars(pattern: Pattern, subject: readonly string[]): boolean {
  let p = 0;
  let s = 0;
  let star = -1; // index in pattern of the last `*` seen
  let resume = 0; // index in subject that `*` is currently extended to
  while (s < subject.length) {
    const pc = pattern[p];
    if (pc !== undefined && pc !== STAR && (pc === ANY || pc === subject[s])) {
      p++;
      s++;
    } else if (pc === STAR) {
      star = p++;
      resume = s;
    } else if (star !== -1) {
      // Let the last `*` swallow one more character and retry after it.
      p = star + 1;
      s = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === STAR) p++;
  return p === pattern.length;
}

/** Does `glob` match the whole of `localpart`? */
export function matchGlob(glob: string, localpart: string): boolean {
  return matchChars(Array.from(glob), Array.from(localpart));
}

/**
 * A predicate that is true for localparts matched by at least one `include`
 * glob and by no `exclude` glob. Globs are expected to be validated already
 * (see `globProblem`); an empty `include` matches nothing.
 */
export function compileFilter(
  include: readonly string[],
  exclude: readonly string[],
): (localpart: string) => boolean {
  const inc = include.map((g) => Array.from(g));
  const exc = exclude.map((g) => Array.from(g));
  const everyone = inc.some((g) => g.length > 0 && g.every((c) => c === STAR));
  return (localpart) => {
    const chars = Array.from(localpart);
    if (!everyone && !inc.some((g) => matchChars(g, chars))) return false;
    return !exc.some((g) => matchChars(g, chars));
  };
}
