#!/usr/bin/env bash
# Runs `pulumi preview|up|destroy` for one stack with everything a fresh machine lacks:
# a pinned Pulumi CLI, a local state backend, the stack, and a check for AWS credentials first.
set -euo pipefail

action=${1:?usage: scripts/pulumi.sh preview|up|destroy STACK}
stack=${2:?usage: scripts/pulumi.sh preview|up|destroy STACK}
cd "$(dirname "$0")/.."

PULUMI_VERSION=3.272.0
die() { echo "make $action: $*" >&2; exit 1; }

case "$action" in preview|up|destroy) ;; *) die "unknown action '$action'; expected preview, up or destroy" ;; esac
[ -f "Pulumi.$stack.yaml" ] || die "no stack file Pulumi.$stack.yaml; stacks: $(ls Pulumi.*.yaml | sed 's/Pulumi\.\(.*\)\.yaml/\1/' | tr '\n' ' ')"

# 1. Stop before anything touches AWS when there are no credentials to touch it with.
if command -v aws >/dev/null 2>&1; then
  aws sts get-caller-identity --output text --query Arn >/dev/null 2>&1 \
    || die "no usable AWS credentials (aws sts get-caller-identity failed); set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run 'aws sso login'"
else
  die "the AWS CLI v2 is required (kubectl and the Kubernetes provider get cluster tokens with 'aws eks get-token'); install it and configure credentials"
fi

# 2. A pinned Pulumi CLI, installed into ~/.pulumi if none is on PATH.
export PATH="$HOME/.pulumi/bin:$PATH"
if ! command -v pulumi >/dev/null 2>&1; then
  echo "Installing Pulumi CLI $PULUMI_VERSION into ~/.pulumi"
  curl -fsSL https://get.pulumi.com | sh -s -- --version "$PULUMI_VERSION"
fi

# 3. Local file state unless the caller chose a backend (e.g. PULUMI_BACKEND_URL=s3://bucket).
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
if [ -z "${PULUMI_CONFIG_PASSPHRASE:-}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "PULUMI_CONFIG_PASSPHRASE is not set: using an empty passphrase for this local stack's secrets." >&2
  export PULUMI_CONFIG_PASSPHRASE=""
fi

pulumi stack select "$stack" 2>/dev/null || pulumi stack init "$stack"

# Kubernetes moves up one minor at a time, never down: compare with the deployed stack (no output yet: first deploy).
if [ "$action" != destroy ]; then
  .venv/bin/python -m offline.upgrade_guard --stack "$stack" --deployed "$(pulumi stack output kubernetesVersion 2>/dev/null || true)"
fi

# 4. The API endpoint only answers addresses in publicAccessCidrs. The dev stack ships a documentation
#    placeholder, replaced by this machine's address; otherwise only warn, never rewrite a chosen list.
if ip=$(curl -fsS --max-time 5 https://checkip.amazonaws.com 2>/dev/null); then
  cidrs=$(pulumi config get publicAccessCidrs 2>/dev/null || true)
  if [ "$stack" = dev ] && [ "$action" != destroy ] && grep -q '203.0.113.0/24' <<<"$cidrs"; then
    echo "Allowing this machine's address $ip/32 to reach the dev API endpoint (publicAccessCidrs)."
    pulumi config set --path 'publicAccessCidrs[0]' "$ip/32"
  elif ! grep -q "\"$ip/32\"" <<<"$cidrs" && ! grep -q '0.0.0.0/0' <<<"$cidrs"; then
    echo "warning: this machine ($ip) may not be in publicAccessCidrs $cidrs; the Kubernetes steps need to reach the API." >&2
  fi
fi

case "$action" in
  preview) pulumi preview --diff ;;
  up) if [ -t 0 ]; then pulumi up; else pulumi up --yes; fi ;;
  destroy) pulumi destroy ;;
esac
