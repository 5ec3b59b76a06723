"""Parsers: one module or package per input family, each building the normalized model.

``nginx``, ``envoy`` and ``kubernetes`` are packages whose ``__init__`` is the entry point of the
family; ``gitops`` holds how manifests are deployed (Helm, Argo CD). ``certs``, ``terraform`` and the
shared ``base``, ``tlsinfo``, ``rewrite``, ``yamlfiles`` and ``yamlpool`` are single modules.
"""
