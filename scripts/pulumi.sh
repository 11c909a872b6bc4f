#!/usr/bin/env bash
# Runs `pulumi preview|up|destroy` for one stack with everything a fresh machine lacks: a check of AWS first, then
# the runtime Python dependencies, the pinned Pulumi CLI, a local state backend, the stack and the policy pack.
#
# Exit codes: 0 done; 1 a step failed (AWS, an install, the address lookup, Pulumi itself); 2 bad input (action,
# stack, confirmation, passphrase, stack or policy config). Each failure is one line on stderr, and every check
# comes before the first change.
#
# Tracked files stay as they are: Pulumi reads the stack's config from an untracked copy (gitignored),
# .stack-config/Pulumi.<stack>.yaml, made anew from Pulumi.<stack>.yaml on every run (so that its edits are always
# taken), plus the stack's encryptionsalt when the stack file has none, and with the dev placeholder address replaced
# by this machine's. Every pulumi command here that reads config gets --config-file on it. `pulumi stack init` has no
# such flag and writes a new stack's encryptionsalt into Pulumi.<stack>.yaml: that line goes into the copy and the
# stack file is put back byte for byte. A secrets key the stack file has itself (a committed salt) is the one used.
set -euo pipefail

action=${1:-}
stack=${2:-}
cd "$(dirname "$0")/.."

PULUMI_VERSION=3.272.0
# The documentation range the dev stack ships in publicAccessCidrs, replaced by this machine's address.
PLACEHOLDER_CIDR=203.0.113.0/24
usage="usage: scripts/pulumi.sh preview|up|destroy STACK"
fail() { echo "make ${action:-up}: $*" >&2; exit 1; }
pulumi_failed() { fail "pulumi $1 failed for stack $stack (its output is above)"; }
refuse() { echo "make ${action:-up}: $*" >&2; exit 2; }
# The line of a command's error output that says what went wrong (colour codes and blank lines dropped).
reason_in() { sed 's/\x1b\[[0-9;]*m//g' "$@" 2>/dev/null | grep -v '^[[:space:]]*$' | grep -i -m 1 -E 'error|curl: \(' || true; }
last_line_of() { sed 's/\x1b\[[0-9;]*m//g' "$@" 2>/dev/null | grep -v '^[[:space:]]*$' | tail -n 1 || true; }

case "$action" in preview|up|destroy) ;; *) refuse "unknown action '$action'; $usage" ;; esac
[ -n "$stack" ] || refuse "no stack given; $usage"
[ -f "Pulumi.$stack.yaml" ] || refuse "no stack file Pulumi.$stack.yaml; stacks: $(printf '%s\n' Pulumi.*.yaml | sed -e 's/^Pulumi\.//' -e 's/\.yaml$//' | paste -sd ' ' -)"

# 1. Pulumi asks before it changes anything; without a terminal nobody can answer, so CONFIRM=<stack> does.
confirmed=false
[ "${CONFIRM:-}" = "$stack" ] && confirmed=true
if [ "$action" != preview ] && ! [ -t 0 ] && ! $confirmed; then
  refuse "no terminal to confirm '$action' of stack $stack; run it with CONFIRM=$stack to approve without a prompt"
fi

# 2. Secrets of a self-managed backend (file://, s3://, ...) are encrypted with a passphrase. Unset is a forgotten
#    variable, not a choice: only an explicitly empty PULUMI_CONFIG_PASSPHRASE means an empty one.
if [[ "${PULUMI_BACKEND_URL:-}" != https://* ]] && [ -z "${PULUMI_CONFIG_PASSPHRASE+set}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  refuse "PULUMI_CONFIG_PASSPHRASE is not set: set it (or PULUMI_CONFIG_PASSPHRASE_FILE) to the passphrase of stack $stack's secrets; PULUMI_CONFIG_PASSPHRASE= (set and empty) means no passphrase"
fi
if [ -n "${PULUMI_CONFIG_PASSPHRASE+set}" ] && [ -z "${PULUMI_CONFIG_PASSPHRASE}${PULUMI_CONFIG_PASSPHRASE_FILE:-}" ]; then
  echo "PULUMI_CONFIG_PASSPHRASE is set and empty: stack $stack's secrets are encrypted with an empty passphrase." >&2
fi

tmp=$(mktemp -d)
# While `pulumi stack init` may write the stack file: its bytes from before, put back on any exit.
saved_stack_file=""
trap '[ -z "$saved_stack_file" ] || cp "$saved_stack_file" "Pulumi.$stack.yaml"; rm -rf "$tmp"' EXIT

# 3. Stop before installing anything when AWS cannot be used, with the AWS CLI's own reason.
command -v aws >/dev/null 2>&1 \
  || fail "the AWS CLI is required (kubectl and the Kubernetes provider get cluster tokens with 'aws eks get-token'); install it and configure credentials"
# Version 1 prints its version on stderr and lacks what the kubeconfig's exec plugin expects of `aws eks get-token`
# in current releases; README requires version 2.
aws_version=$(aws --version 2>&1 || true)
[[ "$aws_version" == aws-cli/2.* ]] \
  || fail "the AWS CLI version 2 is required, found '${aws_version:-nothing}' (https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html)"
if ! identity=$(aws sts get-caller-identity --output text --query Arn 2>"$tmp/aws.err"); then
  fail "AWS is not usable: $(last_line_of "$tmp/aws.err" | grep . || echo 'aws sts get-caller-identity failed') (credentials: AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or 'aws sso login')"
fi
echo "AWS identity: $identity"

# 4. Only what deploying needs: the program's and the policy pack's runtime dependencies, both venvs at once
#    (measured: 23 s instead of 30 s one after the other; pip waits on the network most of the time).
make --no-print-directory -s -j2 venv-runtime \
  || fail "could not install the runtime Python dependencies (pip's error is above); check the network or proxy, then re-run"

# 5. Checks that need the stack's config: prod is changed only on purpose, and the policy pack config must resolve.
environment=$(.venv/bin/python -m offline.policy_config --stack "$stack" --print-environment) || exit 2
if [ "$environment" = prod ] && [ "$action" != preview ] && ! $confirmed; then
  refuse "stack $stack is a prod environment: run it with CONFIRM=$stack to $action it"
fi
policy=()
if [ "$action" != destroy ]; then
  pack_config=$(.venv/bin/python -m offline.policy_config --stack "$stack" --out "out/$stack") || exit 2
  # The same gate as CI: the policy pack with the stack's levels (its environment's, then its own file's).
  policy=(--policy-pack policies --policy-pack-config "$pack_config")
fi

# 6. The API endpoint only answers addresses in publicAccessCidrs: the dev placeholder becomes this machine's
#    address, and without one the run stops here, before anything is changed, instead of locking Pulumi out.
ip=""
if lookup=$(curl -fsS --max-time 5 https://checkip.amazonaws.com 2>"$tmp/ip.err") \
  && [[ "$lookup" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]]; then
  ip=$lookup
fi
# An allow-list of documentation ranges (RFC 5737) admits no client: after the cluster exists, Pulumi and kubectl
# would be refused. Only the dev placeholder is replaced below; any other such range stops `up` here.
if [ "$action" = up ]; then
  documentation=$(.venv/bin/python - "$stack" "$PLACEHOLDER_CIDR" <<'PY'
import ipaddress, json, sys
from pathlib import Path
from offline.plan.stack_files import config_value
stack, placeholder = sys.argv[1], sys.argv[2]
ranges = [ipaddress.ip_network(block) for block in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24")]
if json.loads(config_value(Path.cwd(), stack, "endpointPublicAccess") or "true"):
    for block in json.loads(config_value(Path.cwd(), stack, "publicAccessCidrs") or "[]"):
        if block != placeholder and any(ipaddress.ip_network(block, strict=False).overlaps(r) for r in ranges):
            print(block)
            break
PY
  ) || exit 2
  [ -z "$documentation" ] || refuse "publicAccessCidrs of stack $stack holds $documentation, a documentation range (RFC 5737) no client connects from: once the cluster exists its API would refuse Pulumi and kubectl; put your office or VPN range (or your address as <ip>/32) into Pulumi.$stack.yaml"
fi
replace_placeholder=false
if [ "$action" != destroy ] && grep -qF "$PLACEHOLDER_CIDR" "Pulumi.$stack.yaml"; then
  [ -n "$ip" ] || fail "cannot find this machine's public IPv4 address (checkip.amazonaws.com: $(last_line_of "$tmp/ip.err" | grep . || echo "answered '${lookup:-nothing}'")) to replace the placeholder $PLACEHOLDER_CIDR in Pulumi.$stack.yaml; put your address as <ip>/32 into its publicAccessCidrs and re-run"
  replace_placeholder=true
elif [ -n "$ip" ] && ! grep -qF -e "$ip/32" -e 0.0.0.0/0 "Pulumi.$stack.yaml"; then
  echo "warning: this machine ($ip) may not be in stack $stack's publicAccessCidrs; the Kubernetes steps need to reach the API." >&2
fi

# 7. The pinned Pulumi CLI: the one on PATH when it is that version; otherwise installed into ~/.pulumi (no pulumi on
#    PATH) or into ~/.pulumi/versions/<version> (another version on PATH, left as it is).
export PATH="$HOME/.pulumi/bin:$PATH"
version_of() { "$1" version 2>/dev/null | sed 's/^v//' || true; }
install_pulumi() {
  echo "Installing Pulumi CLI $PULUMI_VERSION into $1"
  if ! { curl -fsSL https://get.pulumi.com -o "$tmp/install.sh" 2>"$tmp/install.err" \
         && sh "$tmp/install.sh" --version "$PULUMI_VERSION" --install-root "$1" --no-edit-path >"$tmp/install.log" 2>&1; }; then
    local os arch
    os=$(uname -s | tr '[:upper:]' '[:lower:]')
    case $(uname -m) in arm64|aarch64) arch=arm64 ;; *) arch=x64 ;; esac
    fail "could not install the Pulumi CLI $PULUMI_VERSION ($(reason_in "$tmp/install.err" "$tmp/install.log" | grep . || echo 'download failed')); install it by hand: unpack pulumi-v$PULUMI_VERSION-$os-$arch.tar.gz from https://github.com/pulumi/pulumi/releases/tag/v$PULUMI_VERSION so that $1/bin/pulumi exists, then re-run"
  fi
}
if ! command -v pulumi >/dev/null 2>&1; then
  root="$HOME/.pulumi"
  install_pulumi "$root"
  echo "Pulumi CLI $PULUMI_VERSION is in $root/bin; add it to PATH to run pulumi yourself."
elif [ "$(version_of pulumi)" != "$PULUMI_VERSION" ]; then
  root="$HOME/.pulumi/versions/$PULUMI_VERSION"
  echo "$(command -v pulumi) is version $(version_of pulumi | grep . || echo unknown), this project pins $PULUMI_VERSION: using $root/bin/pulumi."
  [ "$(version_of "$root/bin/pulumi")" = "$PULUMI_VERSION" ] || install_pulumi "$root"
  export PATH="$root/bin:$PATH"
fi

# 8. Local file state unless the caller chose a backend (e.g. PULUMI_BACKEND_URL=s3://bucket).
if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
  mkdir -p .pulumi-state
  export PULUMI_BACKEND_URL="file://$PWD/.pulumi-state"
fi
# The stack's config for Pulumi (see the top): the untracked copy and the lines of the secrets keys it carries.
stack_file="Pulumi.$stack.yaml"
config_file=".stack-config/Pulumi.$stack.yaml"
cp "$stack_file" "$tmp/stack-file"
# The top-level secrets keys' lines in file $1 (written by Pulumi: one line each) that the stack file lacks.
secrets_lines() {
  local key
  for key in encryptionsalt encryptedkey secretsprovider; do
    grep -q "^$key:" "$tmp/stack-file" || grep -m 1 "^$key:" "$1" 2>/dev/null || true
  done
}
carried=""
[ ! -f "$config_file" ] || carried=$(secrets_lines "$config_file")
# The cluster's creator as recorded in the previous copy (see 8b); empty when there is none.
creator_line="  eks-platform:clusterCreatorArn: "
recorded_creator=$( { sed -n "s/^$creator_line//p" "$config_file" 2>/dev/null || true; } | head -n 1)
initialized=false
if pulumi stack select "$stack" 2>/dev/null; then
  # Kubernetes moves up one minor at a time, never down: compared with what runs (the cluster's own version when
  # it exists, else the stack's output), before anything is changed. A refused step is a config change to undo.
  if [ "$action" != destroy ]; then
    outputs=$(pulumi stack output --json) || pulumi_failed "stack output"
    .venv/bin/python -m offline.upgrade_guard --stack "$stack" --outputs-json "$outputs" --ask-aws || exit 2
  fi
else
  saved_stack_file="$tmp/stack-file"
  pulumi stack init "$stack" || pulumi_failed "stack init"
  initialized=true
  if ! cmp -s "$tmp/stack-file" "$stack_file"; then
    written=$(secrets_lines "$stack_file")
    cp "$tmp/stack-file" "$stack_file"
    if [ -n "$written" ]; then
      carried=$written
      echo "'pulumi stack init' wrote the stack's $(cut -d : -f 1 <<<"$written" | paste -sd ' ' -) into $stack_file: moved into $config_file, $stack_file is as it was."
    else
      echo "'pulumi stack init' changed $stack_file: put back as it was."
    fi
  fi
  saved_stack_file=""
fi
mkdir -p "$(dirname "$config_file")"
{
  echo "# Made by scripts/pulumi.sh from $stack_file on every run (edit that file, not this one); untracked."
  cat "$stack_file"
  [ -z "$(tail -c 1 "$stack_file")" ] || echo
  [ -z "$carried" ] || printf '%s\n' "$carried"
} >"$config_file.new"
mv "$config_file.new" "$config_file"
if [ -z "$carried" ] && ! grep -q -E '^(encryptionsalt|encryptedkey|secretsprovider):' "$stack_file"; then
  # No salt in either file (a lost copy, or a backend whose secrets need none): Pulumi takes the stack state's
  # secrets settings instead of making a new salt, and writes them into the copy.
  export PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER="${PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER:-true}"
fi
config=(--config-file "$config_file")

# 8b. Who created the cluster, recorded once: EKS gives only the creator an access entry of its own, so the program
#     declares entries for every other admin (components/cluster.py). Recorded at the stack's first `up` as this
#     caller's IAM principal, then carried from copy to copy, so the entries stay the same whoever runs `up` later;
#     a clusterCreatorArn in the stack file itself wins (commit it when CI shares the stack).
if ! grep -q "^$creator_line" "$stack_file"; then
  creator=$recorded_creator
  if [ -z "$creator" ] && $initialized && [ "$action" = up ]; then
    creator=$(sed -E 's#^arn:([^:]+):sts::([0-9]{12}):assumed-role/([^/]+)/.*$#arn:\1:iam::\2:role/\3#' <<<"$identity")
    if [[ "$creator" =~ ^arn:[^:]+:iam::[0-9]{12}:(role|user)/ ]]; then
      echo "clusterCreatorArn: $creator creates the cluster; recorded in $config_file (commit it into $stack_file when CI shares the stack)."
    else
      echo "warning: $identity is no IAM role or user; clusterCreatorArn is not recorded (set it in $stack_file)." >&2
      creator=""
    fi
  fi
  if [ -n "$creator" ]; then
    pulumi config set "${config[@]}" clusterCreatorArn "$creator" || pulumi_failed "config set"
  fi
fi
if $replace_placeholder; then
  cidrs=$(pulumi config get "${config[@]}" publicAccessCidrs) || pulumi_failed "config get"
  index=$(.venv/bin/python -c 'import json, sys; print(json.loads(sys.argv[1]).index(sys.argv[2]))' "$cidrs" "$PLACEHOLDER_CIDR")
  pulumi config set "${config[@]}" --path "publicAccessCidrs[$index]" "$ip/32" || pulumi_failed "config set"
  echo "publicAccessCidrs: $PLACEHOLDER_CIDR -> $ip/32 in $config_file only ($stack_file keeps the placeholder), so that Pulumi and kubectl reach the API endpoint."
fi
echo "Stack config: $config_file (untracked, made from $stack_file); pulumi runs with --config-file $config_file (pass it too when you run pulumi yourself)."

# 9. Pulumi's own prompt on a terminal; --yes only when CONFIRM=<stack> approved the run without one.
yes=()
[ -t 0 ] || yes=(--yes)
case "$action" in
  preview) pulumi preview "${config[@]}" --diff ${policy[@]+"${policy[@]}"} ;;
  up) pulumi up "${config[@]}" ${policy[@]+"${policy[@]}"} ${yes[@]+"${yes[@]}"} ;;
  destroy) pulumi destroy "${config[@]}" ${yes[@]+"${yes[@]}"} ;;
esac || pulumi_failed "$action"

# 10. After a deploy: how to connect, and where the demo answers (outputs known only now).
if [ "$action" = up ]; then
  echo "Connect kubectl: make kubeconfig STACK=$stack, then export KUBECONFIG=$PWD/out/$stack/kubeconfig"
  .venv/bin/python scripts/outputs.py --stack "$stack" --urls 2>/dev/null || true
fi
