%%% mod_presence_notify_guard (ejabberd 23.01): only the server itself may
%%% tell the presence-notify component about users' sessions.
%%%
%%% A user can address a presence straight to the component (a directed
%%% presence, RFC 6121 section 4.6). It reaches the component byte for byte
%%% like the broadcast mod_privilege forwards (XEP-0356 section 7,
%%% managed_entity): same from, same to, no wrapper. So a user could make its
%%% own live session look gone, or an invisible one look online. This module
%%% drops, in the user's own c2s process (user_send_packet, before routing),
%%% every available/unavailable presence a local user addresses to one of the
%%% listed component domains (any JID on them), and answers an available one
%%% with <forbidden/>. mod_privilege's own forwarding routes its copy without
%%% passing through user_send_packet, so it is untouched.
%%%
%%% Build: erlc -o EBIN_DIR mod_presence_notify_guard.erl (erlc comes with
%%% ejabberd's Erlang; no ejabberd headers are needed). Put EBIN_DIR on the
%%% node's code path (ERL_OPTIONS="-pa EBIN_DIR" in ejabberdctl.cfg), then:
%%%
%%%   modules:
%%%     mod_presence_notify_guard:
%%%       components: ["presence.example.com"]
-module(mod_presence_notify_guard).
-behaviour(gen_mod).

-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1,
         mod_options/1, mod_doc/0]).
-export([user_send_packet/1]).

%% Before mod_privilege (50), which copies self-presences to the component.
-define(PRIORITY, 10).

start(Host, _Opts) ->
    ejabberd_hooks:add(user_send_packet, Host, ?MODULE, user_send_packet, ?PRIORITY).

stop(Host) ->
    ejabberd_hooks:delete(user_send_packet, Host, ?MODULE, user_send_packet, ?PRIORITY).

reload(_Host, _NewOpts, _OldOpts) ->
    ok.

depends(_Host, _Opts) ->
    [].

mod_opt_type(components) ->
    econf:list(econf:domain()).

mod_options(_Host) ->
    [{components, []}].

mod_doc() ->
    #{desc => "Drops presences users address to the listed components."}.

%% The packet is an xmpp record; the xmpp library's accessors keep this
%% module free of ejabberd's and xmpp's header files.
user_send_packet({Pkt, C2SState} = Acc) ->
    case element(1, Pkt) == presence andalso is_session_state(xmpp:get_type(Pkt)) of
        false ->
            Acc;
        true ->
            {_, Server, _} = jid:tolower(xmpp:get_to(Pkt)),
            #{lserver := LServer} = C2SState,
            Guarded = gen_mod:get_module_opt(LServer, ?MODULE, components),
            case lists:member(Server, Guarded) of
                false ->
                    Acc;
                true ->
                    refuse(Pkt),
                    {stop, {drop, C2SState}}
            end
    end;
user_send_packet(Acc) ->
    Acc.

is_session_state(available) -> true;
is_session_state(unavailable) -> true;
is_session_state(_) -> false.

%% No reply to an unavailable: the session may be closing.
refuse(Pkt) ->
    case xmpp:get_type(Pkt) of
        available ->
            Txt = <<"Only the server may send presence to this service">>,
            ejabberd_router:route_error(
              Pkt, xmpp:err_forbidden(Txt, xmpp:get_lang(Pkt)));
        unavailable ->
            ok
    end.
