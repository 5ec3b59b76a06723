"""Pseudo-rules for input that could not be read: their findings come from the parsers."""

from __future__ import annotations

from auditor.model import Severity
from auditor.policies.registry import pseudo_rule

pseudo_rule(
    id="parse-error",
    severity=Severity.HIGH,
    title="File could not be parsed",
    rationale="A file that does not parse is not checked at all, and the server it configures will "
    "usually refuse it too. Syntax errors, binary or non-UTF-8 data, include cycles, unreadable "
    "certificates and oversized files are reported here; the rest of the tree is still scanned.",
    fix="Fix the syntax at the reported line, or exclude the file with --exclude or .confauditignore.",
    family="sources",
)

pseudo_rule(
    id="suppression-invalid",
    severity=Severity.LOW,
    title="Suppression comment is malformed",
    rationale="A `# confaudit: ignore` comment must name the rule ids it silences and give a reason "
    "after `--`, so reviewers can tell why a finding is accepted. A malformed one silences nothing.",
    fix="Write it as `# confaudit: ignore <rule-id>[,<rule-id>] -- <reason>`.",
    family="sources",
)

pseudo_rule(
    id="helm-render-failed",
    severity=Severity.HIGH,
    title="Helm chart could not be rendered",
    rationale="Charts are checked through what `helm template` renders. A chart that fails to render "
    "(template error, missing `required` value, dependencies not vendored in charts/), a render that "
    "times out, or a machine without helm means none of the chart's objects are checked; the error is "
    "usually the same one `helm install` or Argo CD will hit.",
    fix="Fix the template or values at the reported place (run `helm template` on the chart to see the "
    "full error), vendor dependencies with `helm dependency build`, or install helm / pass --helm-bin.",
    family="sources",
)

pseudo_rule(
    id="argocd-source-missing",
    severity=Severity.HIGH,
    title="Argo CD Application points at a path, chart or values file that does not exist",
    rationale="Argo CD resolves `spec.source.path`, `chart` and `helm.valueFiles` in the repository at "
    "sync time; a name that is not there makes the Application fail with 'app path does not exist' or "
    "'no such file or directory' and nothing is deployed (a missing values file silently falls back "
    "to defaults only with ignoreMissingValueFiles).",
    fix="Correct the path in the Application manifest, or add the missing chart or values file to the "
    "repository (use --repo-map URL=DIR when the repoURL is another checkout).",
    family="sources",
)

pseudo_rule(
    id="tls-policy-unknown",
    severity=Severity.INFO,
    title="Load balancer TLS policy is not in the known policy tables",
    rationale="Cloud load balancer TLS policies are checked through the providers' published tables of "
    "protocols and ciphers per policy name. A name the tables do not list, or a policy computed from a "
    "variable, is not guessed: its protocols and ciphers are not checked.",
    fix="Use a current, published policy name (AWS: ELBSecurityPolicy-TLS13-1-2-2021-06), or set it as "
    "a literal so it can be checked.",
    family="sources",
)

pseudo_rule(
    id="k8s-name-missing",
    severity=Severity.MEDIUM,
    title="Kubernetes object has no name",
    rationale="The API server refuses an object without metadata.name or metadata.generateName "
    '("name or generateName is required"), so `kubectl apply`, Helm and Argo CD fail on it. Only that '
    "object is affected: the other objects of the file are still checked. Tool configurations that "
    "share apiVersion and kind (Kustomization, kubeconfig) are not objects and are not reported.",
    fix="Give the object a metadata.name (or a generateName for objects created with `kubectl create`).",
    family="sources",
)
