"""Building blocks the components share (no ComponentResource here): pinned versions, pod and container specs,
IAM documents, Helm releases, ingress routing, node-pool vocabulary. They import no component."""
