"""How manifests are deployed: Helm charts, Argo CD Applications, and the step that joins them.

``manifests`` loads every YAML file once and decides what each one means: a chart or folder that an
Application deploys is scanned as that Application renders it; ``helm`` runs the real ``helm
template``; ``argocd`` resolves Applications and ApplicationSets against the tree.
"""
