/**
 * A URL as it may be shown (logs, `check-config`): the password, if any,
 * replaced by "[redacted]"; the user name stays, it says which account.
 * Text that does not parse as a URL is not shown at all.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return "[unparsable URL]";
  }
  if (url.password !== "") url.password = "[redacted]";
  // WHATWG URL percent-encodes the brackets; put them back for readers.
  return url.toString().replace("%5Bredacted%5D", "[redacted]");
}
