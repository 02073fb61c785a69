import type { Element } from "@xmpp/xml";

/**
 * XEP-0356 privilege advertisement (section 4, "Privileges advertising"):
 * the server tells the component, right after the handshake, what it may do.
 * Prosody and ejabberd >= 24.10 speak version 2; older ejabberd version 1.
 * Both carry `<perm access=... type=.../>`; that is all we read.
 */

export const NS_PRIVILEGE_V2 = "urn:xmpp:privilege:2";
export const NS_PRIVILEGE_V1 = "urn:xmpp:privilege:1";

export interface Privileges {
  readonly ns: string;
  /** access -> type, e.g. presence -> managed_entity, message -> outgoing. */
  readonly perms: Readonly<Record<string, string>>;
}

/** The advertisement in a message, if the message is one from a server. */
export function parsePrivilegeAdvertisement(stanza: Element): Privileges | undefined {
  const from = stanza.attrs.from ?? "";
  // Only the server itself (a bare domain) advertises; a user cannot grant us anything.
  if (from === "" || from.includes("@") || from.includes("/")) return undefined;
  const privilege =
    stanza.getChild("privilege", NS_PRIVILEGE_V2) ?? stanza.getChild("privilege", NS_PRIVILEGE_V1);
  if (!privilege) return undefined;
  const perms: Record<string, string> = {};
  for (const perm of privilege.getChildren("perm")) {
    const { access, type } = perm.attrs;
    if (access && type) perms[access] = type;
  }
  return { ns: privilege.attrs.xmlns ?? NS_PRIVILEGE_V2, perms };
}

/** Only `managed_entity` shows every session; `roster` shows only users who added us. */
export const hasPresencePermission = (p: Privileges) => p.perms.presence === "managed_entity";

export const hasOutgoingMessagePermission = (p: Privileges) =>
  p.perms.message === "outgoing" || p.perms.message === "all";

/**
 * Whether notifications go from the user's bare JID (XEP-0356 section 7,
 * `<privilege><forwarded>`): `notify.from = "user"` and this connection's
 * advertisement grants message=outgoing. Otherwise they go from the
 * component domain, as the daemon logs when it reads the advertisement.
 */
export function sendsFromUser(
  configured: string,
  privileges: Privileges | undefined,
): privileges is Privileges {
  return (
    configured === "user" && privileges !== undefined && hasOutgoingMessagePermission(privileges)
  );
}
