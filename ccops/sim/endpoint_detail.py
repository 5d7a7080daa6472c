"""``PJSIPShowEndpoint`` of the simulated PBX: one endpoint's detail, as Asterisk 22 lists it.

Why the whole list: the console's sync asks each trunk's detail because static AOR contacts
(a carrier's ``contact=``) are not in ``PJSIPShowContacts`` (note 22); the detail's
``ContactStatusDetail`` is where trunk reachability and the qualify round trip
(``RoundtripUsec``) come from. With this action the simulator's trunks show RTT after a
sync like a real Asterisk's do.

Shape (recorded from the tier, ``tests/data/asterisk22/fields.json``): ``Success`` with
``EventList: start``, then ``EndpointDetail``, one ``AuthDetail`` per inbound and outbound
auth, ``TransportDetail``, ``AorDetail``, one ``ContactStatusDetail`` per contact,
``IdentifyDetail`` for trunks, and ``EndpointDetailComplete``; ActionID second in each.
Header names and order are the recorded ones; values that are not the endpoint's own are
the recorded defaults. As on the real Asterisk, ``AuthDetail`` carries the password in
clear (note 9): consoles must not show or log it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ccops.sim.model import DEVSTATE_PJSIP
from ccops.sim.wire import error, list_complete, list_start

if TYPE_CHECKING:
    from ccops.sim.engine import Engine

Pairs = Sequence[tuple[str, str]]

#: EndpointDetail as recorded for a trunk (carrier-a), in wire order.
ENDPOINT_DEFAULTS: Pairs = (
    ('ObjectType', 'endpoint'),
    ('ObjectName', 'carrier-a'),
    ('RpidImmediate', 'false'),
    ('Webrtc', 'no'),
    ('Ignore183WithoutSdp', 'false'),
    ('SendAoc', 'false'),
    ('DeviceStateBusyAt', '0'),
    ('T38UdptlMaxdatagram', '0'),
    ('CodecPrefsIncomingAnswer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'),
    ('SecurityNegotiation', 'no'),
    ('DtlsRekey', '0'),
    ('RtpPortEnd', '0'),
    ('NamedPickupGroup', ''),
    ('DirectMediaMethod', 'invite'),
    ('SendRpid', 'false'),
    ('PickupGroup', ''),
    ('SdpSession', 'Asterisk'),
    ('DtlsVerify', 'No'),
    ('MessageContext', ''),
    ('Tenantid', ''),
    ('Mailboxes', ''),
    ('RecordOnFeature', 'automixmon'),
    ('DtlsPrivateKey', ''),
    ('DtlsFingerprint', 'SHA-256'),
    ('OverlapContext', ''),
    ('OutgoingCallOfferPref', 'remote_merge'),
    ('RtpPortStart', '0'),
    ('FromDomain', ''),
    ('TimersSessExpires', '1800'),
    ('NamedCallGroup', ''),
    ('DtlsCipher', ''),
    ('MediaEncryptionOptimistic', 'false'),
    ('SuppressQ850ReasonHeaders', 'false'),
    ('Aors', 'carrier-a'),
    ('IdentifyBy', 'username,ip'),
    ('CalleridPrivacy', 'allowed_not_screened'),
    ('MwiSubscribeReplacesUnsolicited', 'no'),
    ('CosAudio', '0'),
    ('FollowEarlyMediaFork', 'true'),
    ('Context', 'from-carrier'),
    ('RtpSymmetric', 'true'),
    ('Transport', 'transport-udp'),
    ('MohSuggest', 'default'),
    ('T38Udptl', 'false'),
    ('FaxDetect', 'false'),
    ('T38BindUdptlToMediaAddress', 'false'),
    ('TosVideo', '0'),
    ('SrtpTag32', 'false'),
    ('ReferBlindProgress', 'true'),
    ('MaxAudioStreams', '1'),
    ('Bundle', 'false'),
    ('UseAvpf', 'false'),
    ('CallGroup', ''),
    ('SendConnectedLine', 'yes'),
    ('FaxDetectTimeout', '0'),
    ('SdpOwner', '-'),
    ('ForceRport', 'true'),
    ('CalleridTag', ''),
    ('RtpTimeoutHold', '0'),
    ('SuppressMohOnSendonly', 'false'),
    ('UsePtime', 'false'),
    ('MediaAddress', '127.0.0.1'),
    ('VoicemailExtension', ''),
    ('RtpTimeout', '0'),
    ('StirShaken', 'no'),
    ('SetVar', ''),
    ('ContactAcl', ''),
    ('PreferredCodecOnly', 'false'),
    ('GeolocOutgoingCallProfile', ''),
    ('ForceAvp', 'false'),
    ('RecordOffFeature', 'automixmon'),
    ('FromUser', ''),
    ('SendDiversion', 'true'),
    ('SendHistoryInfo', 'false'),
    ('T38UdptlIpv6', 'false'),
    ('ToneZone', ''),
    ('Language', ''),
    ('AllowSubscribe', 'true'),
    ('RtpIpv6', 'false'),
    ('Callerid', '<unknown>'),
    ('MohPassthrough', 'false'),
    ('CosVideo', '0'),
    ('DtlsAutoGenerateCert', 'No'),
    ('AsymmetricRtpCodec', 'false'),
    ('GeolocIncomingCallProfile', ''),
    ('IceSupport', 'false'),
    ('AggregateMwi', 'true'),
    ('OneTouchRecording', 'false'),
    ('MwiFromUser', ''),
    ('RedirectMethod', 'user'),
    ('Accountcode', ''),
    ('CodecPrefsOutgoingAnswer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'),
    ('Allow', '(ulaw|alaw)'),
    ('RewriteContact', 'false'),
    ('UserEqPhone', 'false'),
    ('RtpEngine', 'asterisk'),
    ('FollowRedirectMethods', ''),
    ('SubscribeContext', ''),
    ('NotifyEarlyInuseRinging', 'false'),
    ('IncomingMwiMailbox', ''),
    ('IncomingCallOfferPref', 'local'),
    ('AllowUnauthenticatedOptions', 'false'),
    ('Auth', ''),
    ('DirectMediaGlareMitigation', 'none'),
    ('TrustIdInbound', 'false'),
    ('StirShakenProfile', ''),
    ('BindRtpToMediaAddress', 'true'),
    ('DisableDirectMediaOnNat', 'false'),
    ('MediaEncryption', 'no'),
    ('MediaUseReceivedTransport', 'false'),
    ('AllowOverlap', 'true'),
    ('DtmfMode', 'rfc4733'),
    ('OutboundAuth', 'carrier-a-auth'),
    ('TosAudio', '0'),
    ('DtlsCertFile', ''),
    ('DtlsCaPath', ''),
    ('DtlsSetup', 'active'),
    ('ConnectedLineMethod', 'invite'),
    ('G726NonStandard', 'false'),
    ('100rel', 'yes'),
    ('Timers', 'yes'),
    ('DirectMedia', 'false'),
    ('Acl', ''),
    ('TimersMinSe', '90'),
    ('TrustIdOutbound', 'false'),
    ('SubMinExpiry', '0'),
    ('RtcpMux', 'false'),
    ('MaxVideoStreams', '1'),
    ('AcceptMultipleSdpAnswers', 'false'),
    ('CodecPrefsIncomingOffer', 'prefer:pending, operation:intersect, keep:all, transcode:allow'),
    ('CodecPrefsOutgoingOffer', 'prefer:pending, operation:union, keep:all, transcode:allow'),
    ('TrustConnectedLine', 'yes'),
    ('SendPai', 'true'),
    ('RtpKeepalive', '0'),
    ('T38UdptlEc', 'none'),
    ('T38UdptlNat', 'false'),
    ('AllowTransfer', 'true'),
    ('DtlsCaFile', ''),
    ('OutboundProxy', ''),
    ('InbandProgress', 'false'),
    ('DeviceState', 'Not in use'),
    ('ActiveChannels', '0'),
)

#: TransportDetail as recorded (the bind address is the sim's own when known).
TRANSPORT_DEFAULTS: Pairs = (
    ('ObjectType', 'transport'),
    ('ObjectName', 'transport-udp'),
    ('WebsocketWriteTimeout', '100'),
    ('Cos', '0'),
    ('TcpKeepaliveEnable', 'false'),
    ('Protocol', 'udp'),
    ('SymmetricTransport', 'false'),
    ('Domain', ''),
    ('VerifyServer', 'No'),
    ('LocalNet', ''),
    ('Bind', '127.0.0.1:5060'),
    ('AllowWildcardCerts', 'No'),
    ('TcpKeepaliveIntervalTime', '1'),
    ('AsyncOperations', '1'),
    ('ExternalMediaAddress', ''),
    ('Method', 'unspecified'),
    ('ExternalSignalingAddress', ''),
    ('RequireClientCert', 'No'),
    ('TcpKeepaliveIdleTime', '30'),
    ('Tos', '0'),
    ('CaListPath', ''),
    ('Cipher', ''),
    ('CertFile', ''),
    ('ExternalSignalingPort', '0'),
    ('Password', ''),
    ('AllowReload', 'false'),
    ('VerifyClient', 'No'),
    ('TcpKeepaliveProbeCount', '5'),
    ('PrivKeyFile', ''),
    ('CaListFile', ''),
    ('EndpointName', 'carrier-a'),
)


def _item(event: str, aid: str, pairs: Iterable[tuple[str, str]]) -> bytes:
    head = f"Event: {event}\r\n" + (f"ActionID: {aid}\r\n" if aid else "")
    return (head + "".join(f"{k}: {v}\r\n" for k, v in pairs) + "\r\n").encode()


def _override(defaults: Pairs, values: dict[str, str]) -> list[tuple[str, str]]:
    return [(k, values.get(k, v)) for k, v in defaults]


def _auth(name: str, endpoint: str, username: str, realm: str) -> list[tuple[str, str]]:
    return [
        ("ObjectType", "auth"), ("ObjectName", name), ("OauthSecret", ""),
        ("PasswordDigest", ""), ("SupportedAlgorithmsUas", "MD5"), ("RefreshToken", ""),
        ("Username", username), ("Md5Cred", ""), ("Realm", realm), ("AuthType", "userpass"),
        ("Password", f"{endpoint}-sim-password"), ("SupportedAlgorithmsUac", "MD5"),
        ("NonceLifetime", "32"), ("OauthClientid", ""), ("EndpointName", endpoint),
    ]


def _aor(name: str, contacts: list[str], qualify: float, timeout: float,
         dynamic: bool) -> list[tuple[str, str]]:
    return [
        ("ObjectType", "aor"), ("ObjectName", name), ("MinimumExpiration", "60"),
        ("DefaultExpiration", "3600"), ("QualifyTimeout", f"{timeout:.6f}"),
        ("Qualify2xxOnly", "false"), ("Mailboxes", ""), ("SupportPath", "false"),
        ("RemoveUnavailable", "false"), ("VoicemailExtension", ""),
        ("MaxContacts", "1" if dynamic else "0"), ("AuthenticateQualify", "false"),
        ("Contacts", ",".join(f"{name}/{c}" for c in contacts)),
        ("MaximumExpiration", "7200"), ("QualifyFrequency", f"{qualify:g}"),
        ("RemoveExisting", "true" if dynamic else "false"), ("OutboundProxy", ""),
        ("TotalContacts", str(len(contacts))),
        ("ContactsRegistered", str(len(contacts) if dynamic else 0)), ("EndpointName", name),
    ]


def _contact(aor: str, uri: str, *, status: str, rtt: str, user_agent: str = "",
             reg_expire: int = 0) -> list[tuple[str, str]]:
    digest = hashlib.md5(uri.encode()).hexdigest()
    return [
        ("AOR", aor), ("URI", uri), ("UserAgent", user_agent), ("RegExpire", str(reg_expire)),
        ("Status", status), ("RoundtripUsec", rtt), ("EndpointName", aor),
        ("ID", f"{aor}@@{digest}"), ("AuthenticateQualify", "0"), ("OutboundProxy", ""),
        ("Path", ""), ("QualifyFrequency", "0"), ("QualifyTimeout", "3.000"),
        ("Qualify2xxOnly", "0"),
    ]


def _identify(endpoint: str) -> list[tuple[str, str]]:
    return [
        ("ObjectType", "identify"), ("ObjectName", f"{endpoint}-identify"), ("Match", ""),
        ("MatchRequestUri", ""), ("SrvLookups", "true"), ("Endpoint", endpoint),
        ("MatchHeader", f"X-Ccops-Trunk: {endpoint}"), ("EndpointName", endpoint),
    ]


def pjsip_show_endpoint(engine: Engine, name: str, aid: str) -> bytes:
    """The full reply to ``PJSIPShowEndpoint Endpoint=<name>`` (an error if unknown)."""
    e = engine
    if not name:
        return error(aid, "Endpoint parameter missing.")
    trunk = e.trunks.get(name)
    desk = e.desks.get(name)
    if trunk is None and desk is None:
        return error(aid, f"Unable to retrieve endpoint {name}\n")
    active = sum(1 for c in e.channels.values() if c.device == f"PJSIP/{name}")
    state = DEVSTATE_PJSIP.get(e.device_states.get(f"PJSIP/{name}", 0), "Unknown")
    items: list[bytes] = []
    common = {"ObjectName": name, "Aors": name, "DeviceState": state,
              "ActiveChannels": str(active)}
    transport = _item("TransportDetail", aid, [*TRANSPORT_DEFAULTS[:-1], ("EndpointName", name)])
    if trunk is not None:
        spec = trunk.spec
        outbound = f"{name}-auth" if spec.registers else ""
        items.append(_item("EndpointDetail", aid, _override(ENDPOINT_DEFAULTS, {
            **common, "Context": "from-carrier", "Auth": "", "OutboundAuth": outbound})))
        if outbound:
            items.append(_item("AuthDetail", aid,
                               _auth(outbound, name, spec.register_user, name)))
        items.append(transport)
        items.append(_item("AorDetail", aid, _aor(name, [spec.uri], spec.qualify_frequency,
                                                   spec.qualify_timeout, dynamic=False)))
        reachable = trunk.reachable
        items.append(_item("ContactStatusDetail", aid, _contact(
            name, spec.uri, status="Reachable" if reachable else "Unreachable",
            rtt=str(trunk.rtt_usec if reachable else 0))))
        items.append(_item("IdentifyDetail", aid, _identify(name)))
    elif desk is not None:
        uri = f"sip:{name}@{desk.spec.address};ob"
        items.append(_item("EndpointDetail", aid, _override(ENDPOINT_DEFAULTS, {
            **common, "Context": "desks", "Auth": f"{name}-auth", "OutboundAuth": ""})))
        items.append(_item("AuthDetail", aid, _auth(f"{name}-auth", name, name, "")))
        items.append(transport)
        contacts = [uri] if desk.registered else []
        items.append(_item("AorDetail", aid, _aor(name, contacts, 0, 3.0, dynamic=True)))
        if desk.registered:
            items.append(_item("ContactStatusDetail", aid, _contact(
                name, uri, status="Unknown", rtt="N/A", user_agent="ccops-sim desk phone",
                reg_expire=int(e.sched.epoch + desk.reg_expires))))
    start = list_start(aid, "Following are Events for each object associated with the Endpoint")
    return start + b"".join(items) + list_complete("EndpointDetailComplete", aid, len(items))
