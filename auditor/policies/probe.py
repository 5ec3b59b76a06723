"""Pseudo-rules of ``confaudit probe``: endpoints that could not be checked, and live answers that
contradict the static analysis. Their findings come from the prober, not from rule functions;
they are tested against live endpoints in ``tests/probe/``, since a static fixture cannot
produce them."""

from __future__ import annotations

from auditor.model import Severity
from auditor.policies.registry import pseudo_rule

pseudo_rule(
    id="probe-connect-failed",
    severity=Severity.HIGH,
    title="Probed endpoint cannot be reached",
    rationale="The name does not resolve, the connection is refused (nothing listens on the port) or "
    "the TCP connection times out (a firewall drops it). Clients fail the same way, and nothing "
    "about the endpoint's TLS could be checked.",
    fix="Check that the service listens on that address and port and that DNS and firewalls let "
    "clients reach it, or probe the right address with --resolve NAME=ADDR[:PORT].",
    family="probe",
)

pseudo_rule(
    id="probe-handshake-failed",
    severity=Severity.HIGH,
    title="Probed endpoint accepts TCP but fails the TLS handshake",
    rationale="The port accepts connections, but the TLS handshake fails: the server sends an alert "
    "(no shared protocol version or cipher, a client certificate required), closes the connection, "
    "or never answers the ClientHello (a hung process, a proxy waiting for PROXY protocol, a "
    "load balancer without healthy backends). Clients see resets or time-outs.",
    fix="Check the server's TLS configuration and error log for this port and SNI name; a server that "
    "never answers usually expects another protocol (PROXY protocol, plain TCP) or is stuck.",
    family="probe",
)

pseudo_rule(
    id="probe-not-tls",
    severity=Severity.HIGH,
    title="Probed endpoint answers TLS with plain text",
    rationale="The server answered a TLS ClientHello with plain HTTP (typically 'HTTP/1.1 400 Bad "
    "Request') or other non-TLS data: the port serves cleartext. Clients fail with 'wrong version "
    "number' or 'packet length too long'; in nginx this is a `listen` line without `ssl`.",
    fix="Enable TLS on the listener (nginx: `listen PORT ssl;` with ssl_certificate and "
    "ssl_certificate_key), or point clients at the TLS port.",
    family="probe",
)

pseudo_rule(
    id="probe-cert-untrusted",
    severity=Severity.HIGH,
    title="Served certificate chain does not verify",
    rationale="The probe handshakes without verification to see what is served, then once more as a "
    "verifying client would (system trust store, or --ca-file for a private CA). A chain that fails "
    "here (unknown issuer, missing intermediate, expired, self-signed) fails for curl, Go, Java, "
    "Python and gRPC clients.",
    fix="Serve the full chain up to a CA the clients trust (leaf, then intermediates); for a private "
    "CA, distribute its root to the clients and pass it with --ca-file when probing.",
    family="probe",
)

pseudo_rule(
    id="probe-static-disagreement",
    severity=Severity.MEDIUM,
    title="Live endpoint contradicts the static analysis of its configuration",
    rationale="`confaudit probe --from-config` runs each rule on the configuration and on the running "
    "server. When they disagree, the deployed server is not running this configuration, or the "
    "configuration does not do what it says (e.g. nginx built with OpenSSL 3 refuses TLS 1.0 "
    "despite `ssl_protocols TLSv1` unless the cipher string lowers the security level).",
    fix="Find out which side is wrong: deploy and reload the reviewed configuration, or correct the "
    "configuration so it states what the server really does.",
    family="probe",
)
