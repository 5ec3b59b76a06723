"""Print a kubernetes.io/tls Secret manifest holding a certificate and key from this folder.

    python tests/certs/k8s_secret.py NAME NAMESPACE CERT KEY [--string-data]

The rule fixtures and samples that need a TLS Secret were written with this script (the same
Secret ``kubectl create secret tls NAME --cert CERT --key KEY -n NAMESPACE -o yaml --dry-run=client``
prints, without a cluster). ``--string-data`` writes the PEM text under ``stringData`` instead of
base64 under ``data``.
"""

from __future__ import annotations

import argparse
import base64
from pathlib import Path


def manifest(name: str, namespace: str, cert: bytes, key: bytes, string_data: bool = False) -> str:
    lines = ["apiVersion: v1", "kind: Secret", "metadata:", f"  name: {name}", f"  namespace: {namespace}",
             "type: kubernetes.io/tls"]
    if string_data:
        lines.append("stringData:")
        for item, pem in (("tls.crt", cert), ("tls.key", key)):
            lines.append(f"  {item}: |")
            lines.extend(f"    {line}" for line in pem.decode().strip().splitlines())
    else:
        lines.append("data:")
        for item, pem in (("tls.crt", cert), ("tls.key", key)):
            lines.append(f"  {item}: {base64.b64encode(pem).decode()}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name")
    parser.add_argument("namespace")
    parser.add_argument("cert", type=Path)
    parser.add_argument("key", type=Path)
    parser.add_argument("--string-data", action="store_true")
    args = parser.parse_args()
    print(manifest(args.name, args.namespace, args.cert.read_bytes(), args.key.read_bytes(), args.string_data),
          end="")


if __name__ == "__main__":
    main()
