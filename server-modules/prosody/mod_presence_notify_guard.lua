-- mod_presence_notify_guard (Prosody 0.12): only the server itself may tell
-- the presence-notify component about users' sessions.
--
-- Load it on the Component that presence-notify connects as:
--
--   plugin_paths = { "/path/to/presence-notify/server-modules/prosody" }
--   Component "presence.example.com"
--     component_secret = "..."
--     modules_enabled = { "privilege", "presence_notify_guard" }
--
-- Why: a user can address a presence straight to the component (a directed
-- presence, RFC 6121 section 4.6). It reaches the component byte for byte like
-- the broadcast mod_privilege forwards (XEP-0356 section 7, managed_entity):
-- same from, same to, no wrapper. So a user could make its own live session
-- look gone (or an invisible one look online). What does differ is who posts
-- the stanza inside Prosody: mod_privilege forwards with module:send() from
-- the user's VirtualHost (origin.type "local"); a directed presence comes from
-- the user's c2s session (or a remote server's s2s stream).
--
-- mod_privilege's replay of current presences on component connect is sent
-- straight down the component's stream and never passes through here.

local st = require "util.stanza";

local function from_the_server(origin)
	return origin.type == "local";
end

local function guard(event)
	local origin, stanza = event.origin, event.stanza;
	local t = stanza.attr.type;
	-- Subscriptions, probes and errors say nothing about a session's state.
	if t ~= nil and t ~= "unavailable" then return; end

	if from_the_server(origin) then
		-- A broadcast never carries a delay of its own: any <delay/> in it was
		-- written by the client (XEP-0203 stamps are the server's to add, and
		-- mod_privilege adds them only to the replay, which skips this hook).
		stanza:remove_children("delay", "urn:xmpp:delay");
		return;
	end

	module:log("debug", "Refused a directed presence from %s (origin %s)",
		tostring(stanza.attr.from), tostring(origin.type));
	-- No reply to an unavailable: the session may be closing (its logout
	-- cleanup of a directed presence also lands here).
	if t == nil then
		origin.send(st.error_reply(stanza, "cancel", "forbidden",
			"Only the server may send presence to this service"));
	end
	return true;
end

-- Above mod_component's handlers (priority -1), which hand the stanza over.
module:hook("presence/host", guard, 100);
module:hook("presence/bare", guard, 100);
module:hook("presence/full", guard, 100);
