"""Policy data shipped with confaudit (installed as ``auditor.policy_data``)."""
