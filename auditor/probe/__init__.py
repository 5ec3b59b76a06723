"""``confaudit probe``: check live TLS endpoints with the same model, rules and reports as ``scan``.

``target`` names what to probe, ``handshake`` asks one question over one TLS connection,
``session`` asks an endpoint all its questions, ``build`` turns the answers into model objects,
``compare`` puts static and live verdicts side by side, ``run`` ties them together, ``report``
renders, ``cli`` registers the subcommand.
"""
