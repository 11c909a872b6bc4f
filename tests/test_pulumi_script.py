"""scripts/pulumi.sh (behind make up/preview/destroy), run in a copy of the project with stub `aws`, `pulumi`, `curl`.

Each refusal is one line on stderr, exit 2 for bad input and 1 for a failed step. No run changes a tracked file:
Pulumi gets an untracked copy of the stack file (.stack-config/). The stubs record their calls, and the `pulumi` one
reads and writes stack config files where the real CLI does, so the tests see what the real CLI would have done.
"""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from offline.analyses.policy import environment_pack_config
from tests.conftest import FROZEN_STACKS

ROOT = Path(__file__).resolve().parent.parent
PINNED = "3.272.0"
# The untracked config copy Pulumi runs with, made from Pulumi.<stack>.yaml by the script.
COPY_DIR = ".stack-config"


def with_copy(stack: str = "dev") -> str:
    return f"--config-file {COPY_DIR}/Pulumi.{stack}.yaml"


NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", ".venv-*", "venv", "out", ".pulumi-state", ".stack-config", "node_modules", "__pycache__", ".*_cache"
)

FAKE_AWS = """#!/bin/sh
echo "aws $*" >> "$CALLS"
[ "$1" = --version ] && { echo "${AWS_VERSION:-aws-cli/2.22.0 Python/3.12.6 Linux/6.8 exe/x86_64}"; exit 0; }
[ -n "$AWS_ERROR" ] && { echo >&2; echo "$AWS_ERROR" >&2; exit 255; }
if [ "$1 $2" = "eks describe-cluster" ]; then
  [ -n "$CLUSTER_VERSION" ] && { echo "$CLUSTER_VERSION"; exit 0; }
  echo "An error occurred (ResourceNotFoundException) when calling the DescribeCluster operation" >&2; exit 254
fi
echo "${AWS_IDENTITY:-arn:aws:iam::123456789012:user/tester}"
"""
# Records every call and treats the stack's config file as the Pulumi CLI does (pulumi/pulumi, pkg/cmd/pulumi):
# - up, preview, destroy and config get/set read and write the file --config-file names, else Pulumi.<stack>.yaml
#   of the selected stack (stack/io.go LoadProjectStack, SaveProjectStack); stack init, select and output have no
#   such flag (stack/stack_new.go, stack_select.go, stack_output.go) and refuse it as an unknown flag;
# - stack init writes a new encryptionsalt into Pulumi.<stack>.yaml unless that file has one, which it then uses
#   (stack/secrets.go createSecretsManagerForNewStack; a new key goes to the file's end: yamlutil/edit.go);
# - up, preview and destroy on a config file without encryptionsalt (or secretsprovider) save one into it: the
#   stack state's with PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER=true, else a new one (stack/secrets.go
#   GetSecretsManager, config/io.go getAndSaveSecretsManager), recorded as a `saved encryptionsalt` line.
FAKE_PULUMI = """#!/bin/sh
echo "${PULUMI_NAME:-pulumi} $*" >> "$CALLS"
case "$PULUMI_BACKEND_URL" in file://*) state=${PULUMI_BACKEND_URL#file://} ;; *) state="$HOME/.fake-state" ;; esac
config="" previous="" value="" key=""
for arg; do
  [ "$previous" = --config-file ] && config=$arg
  case "$arg" in --config-file=*) config=${arg#--config-file=} ;; esac
  key=$value previous=$arg value=$arg
done
case "$1 $2" in
  "stack init"|"stack select"|"stack output")
    [ -z "$config" ] || { echo "error: unknown flag: --config-file" >&2; exit 1; } ;;
esac
current=$(cat "$state/current" 2>/dev/null)
[ -n "$config" ] || config="Pulumi.$current.yaml"
new_salt() { printf 'v1:%s:v1:AAAA' "$(od -An -N6 -tx1 /dev/urandom | tr -d ' \\n')"; }
save_salt_if_missing() {
  grep -q -E '^(encryptionsalt|secretsprovider):' "$config" 2>/dev/null && return
  salt=$(new_salt)
  [ "$PULUMI_FALLBACK_TO_STATE_SECRETS_MANAGER" != true ] || [ ! -s "$state/$current.salt" ] || salt=$(cat "$state/$current.salt")
  echo "encryptionsalt: $salt" >> "$config"
  echo "saved encryptionsalt $salt into $config" >> "$CALLS"
}
case "$1 $2" in
  "version ") echo "v${PULUMI_FAKE_VERSION:-3.272.0}" ;;
  "stack select") [ "${STACK_SELECT_EXIT:-0}" = 0 ] || exit "$STACK_SELECT_EXIT"
                  mkdir -p "$state"; echo "$3" > "$state/current" ;;
  "stack init") [ "${PULUMI_EXIT:-0}" = 0 ] || exit "$PULUMI_EXIT"
                mkdir -p "$state"; echo "$3" > "$state/current"
                salt=$(sed -n 's/^encryptionsalt: //p' "Pulumi.$3.yaml")
                [ -n "$salt" ] || { salt=$(new_salt); echo "encryptionsalt: $salt" >> "Pulumi.$3.yaml"; }
                echo "$salt" > "$state/$3.salt" ;;
  "config get") echo '["203.0.113.0/24"]' ;;
  "stack output") [ -n "$OUTPUT_EXIT" ] && exit "$OUTPUT_EXIT"
                  [ -n "$STACK_OUTPUT" ] && { echo "$STACK_OUTPUT"; exit 0; }
                  [ -n "$DEPLOYED" ] && printf '{"kubernetesVersion": "%s"}\\n' "$DEPLOYED" || echo "{}" ;;
  "config set") [ "${CONFIG_SET_EXIT:-0}" = 0 ] || exit "$CONFIG_SET_EXIT"
                case "$*" in
                  *--path*) sed -i "s#203\\.0\\.113\\.0/24#$value#" "$config" ;;
                  *) sed -i "s#^config:#config:\\n  eks-platform:$key: $value#" "$config" ;;
                esac ;;
  preview*|up*|destroy*) save_salt_if_missing; exit "${PULUMI_EXIT:-0}" ;;
esac
"""
# checkip.amazonaws.com answers MY_IP; get.pulumi.com serves INSTALLER.
FAKE_CURL = """#!/bin/sh
echo "curl $*" >> "$CALLS"
case "$*" in
  *checkip*) [ -n "$MY_IP" ] || { echo "curl: (28) Connection timed out after 5001 milliseconds" >&2; exit 28; }
             echo "$MY_IP" ;;
  *get.pulumi.com*) [ -z "$NO_DOWNLOAD" ] || { echo "curl: (6) Could not resolve host: get.pulumi.com" >&2; exit 6; }
             while [ "$1" != -o ]; do shift; done
             cp "$INSTALLER" "$2" ;;
  *) exit 7 ;;
esac
"""
# Like get.pulumi.com's install.sh: the pinned CLI into <--install-root>/bin (here the stub, calling itself "pinned").
INSTALLER = """#!/bin/sh
while [ "$1" != --install-root ]; do shift; done
mkdir -p "$2/bin"
printf '#!/bin/sh\nPULUMI_NAME=pinned PULUMI_FAKE_VERSION=3.272.0 exec "%s" "$@"\n' "$STUB" > "$2/bin/pulumi"
chmod +x "$2/bin/pulumi"
"""


@dataclass
class Sandbox:
    project: Path
    bin: Path
    home: Path
    calls: Path
    stub: Path

    def stack_file(self, stack: str = "dev") -> str:
        return (self.project / f"Pulumi.{stack}.yaml").read_text()

    def stack_bytes(self, stack: str = "dev") -> bytes:
        return (self.project / f"Pulumi.{stack}.yaml").read_bytes()

    def copy(self, stack: str = "dev") -> Path:
        """The generated config copy Pulumi runs with."""
        return self.project / COPY_DIR / f"Pulumi.{stack}.yaml"

    def state_salt(self, stack: str = "dev") -> str:
        """The salt the stub's stack init gave the stack (what the real CLI keeps in the stack's state)."""
        return (self.project / ".pulumi-state" / f"{stack}.salt").read_text().strip()

    def saved_salts(self) -> list[str]:
        """The stub's record of Pulumi saving an encryptionsalt into a config file it was given."""
        return [call for call in self.recorded() if call.startswith("saved encryptionsalt")]

    def recorded(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []

    def pulumi_calls(self) -> list[str]:
        return [call for call in self.recorded() if call.startswith(("pulumi ", "pinned "))]


# The sandbox's stacks: the frozen ones, in the order the script lists them.
SANDBOX_STACKS = sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in FROZEN_STACKS.glob("Pulumi.*.yaml"))
# prod's shipped allow-list (RFC 5737), and a range of no such kind the sandbox deploys prod with.
DOCUMENTATION_RANGE = "198.51.100.0/24"
OFFICE_RANGE = "100.64.10.0/24"


def write_executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    project = tmp_path / "project"
    shutil.copytree(ROOT, project, ignore=NOT_COPIED, symlinks=True)
    # The tests' own stacks, not the user's: frozen copies of the shipped ones, prod given an allow-list it can
    # deploy with (the shipped one is a documentation range, which `make up` refuses).
    for stack_file in project.glob("Pulumi.*.yaml"):
        stack_file.unlink()
    for stack_file in FROZEN_STACKS.glob("Pulumi.*.yaml"):
        text = stack_file.read_text()
        (project / stack_file.name).write_text(text.replace(DOCUMENTATION_RANGE, OFFICE_RANGE))
    # The runtime venvs count as installed: this project's .venv lent entry by entry, the pack's as a bare marker.
    (project / ".venv").mkdir()
    for entry in (ROOT / ".venv").iterdir():
        if not entry.name.startswith("."):
            (project / ".venv" / entry.name).symlink_to(entry)
    (project / ".venv" / ".runtime").touch()
    (project / "policies" / "venv").mkdir()
    (project / "policies" / "venv" / ".installed").touch()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    write_executable(bin_dir / "aws", FAKE_AWS)
    write_executable(bin_dir / "pulumi", FAKE_PULUMI)
    write_executable(bin_dir / "curl", FAKE_CURL)
    write_executable(tmp_path / "install.sh", INSTALLER)
    stub = tmp_path / "stub" / "pulumi"  # off PATH: what the installer installs
    stub.parent.mkdir()
    write_executable(stub, FAKE_PULUMI)
    home = tmp_path / "home"
    home.mkdir()
    return Sandbox(project, bin_dir, home, tmp_path / "calls", stub)


def environment(box: Sandbox, env: dict[str, str]) -> dict[str, str]:
    base = {
        "PATH": f"{box.bin}:/usr/bin:/bin",
        "HOME": str(box.home),
        "CALLS": str(box.calls),
        "INSTALLER": str(box.bin.parent / "install.sh"),
        "STUB": str(box.stub),
        "MY_IP": "198.51.100.7",
        "PULUMI_CONFIG_PASSPHRASE": "test",
    }
    return {key: value for key, value in (base | env).items() if value is not None}


def run(box: Sandbox, *args: str, terminal: bool = False, **env: str) -> subprocess.CompletedProcess[str]:
    command = ["bash", str(box.project / "scripts" / "pulumi.sh"), *args]
    if terminal:
        # util-linux `script` runs the command on a pseudo-terminal, as in an interactive shell.
        command = ["script", "--quiet", "--return", "--command", shlex.join(command), "/dev/null"]
    return subprocess.run(
        command,
        cwd=box.project,
        env=environment(box, env),
        stdin=subprocess.DEVNULL,  # no terminal, as in CI or a pipeline
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# ---------------------------------------------------------------------------------------------------------------
# Bad input: exit 2 before anything runs


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("up", "no-such-stack"), f"no stack file Pulumi.no-such-stack.yaml; stacks: {' '.join(SANDBOX_STACKS)}"),
        (("apply", "dev"), "unknown action 'apply'"),
    ],
)
def test_bad_stack_or_action_is_refused(sandbox: Sandbox, args: tuple[str, str], words: str) -> None:
    result = run(sandbox, *args, CONFIRM="dev")
    assert result.returncode == 2
    assert words in one_line(result)
    assert sandbox.recorded() == []


@pytest.mark.parametrize("action", ["up", "destroy"])
def test_without_a_terminal_a_change_needs_confirm(sandbox: Sandbox, action: str) -> None:
    result = run(sandbox, action, "dev")
    assert result.returncode == 2
    assert one_line(result) == (
        f"make {action}: no terminal to confirm '{action}' of stack dev; run it with CONFIRM=dev to approve without a prompt"
    )
    assert sandbox.recorded() == []


def test_a_confirm_for_another_stack_does_not_count(sandbox: Sandbox) -> None:
    assert run(sandbox, "destroy", "dev", CONFIRM="prod").returncode == 2


def test_confirmed_destroy_runs_without_a_terminal(sandbox: Sandbox) -> None:
    result = run(sandbox, "destroy", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    assert sandbox.pulumi_calls()[-1] == f"pulumi destroy {with_copy()} --yes"


def test_prod_needs_confirm(sandbox: Sandbox) -> None:
    result = run(sandbox, "up", "prod", CONFIRM="dev")
    assert result.returncode == 2
    assert "make up: no terminal to confirm 'up' of stack prod" in one_line(result)


needs_script = pytest.mark.skipif(shutil.which("script") is None, reason="util-linux `script` (a pseudo-terminal) is missing")


@needs_script
def test_on_a_terminal_pulumi_asks_and_no_confirm_is_needed(sandbox: Sandbox) -> None:
    result = run(sandbox, "up", "dev", terminal=True)
    assert result.returncode == 0, result.stdout
    ups = [call for call in sandbox.pulumi_calls() if call.startswith("pulumi up")]
    assert ups == [f"pulumi up {with_copy()} --policy-pack policies --policy-pack-config out/dev/policy-pack-config.json"]


@needs_script
def test_a_prod_environment_needs_confirm_even_on_a_terminal(sandbox: Sandbox) -> None:
    # By the stack's environment, not its name: a copy of prod under another name is prod too.
    (sandbox.project / "Pulumi.live.yaml").write_text(sandbox.stack_file("prod"))
    refused = run(sandbox, "destroy", "live", terminal=True)
    assert refused.returncode == 2
    assert "make destroy: stack live is a prod environment: run it with CONFIRM=live to destroy it" in refused.stdout
    assert sandbox.pulumi_calls() == []
    confirmed = run(sandbox, "destroy", "live", terminal=True, CONFIRM="live")
    assert confirmed.returncode == 0, confirmed.stdout
    assert sandbox.pulumi_calls()[-1] == f"pulumi destroy {with_copy('live')}"


def test_unset_passphrase_is_refused_not_made_empty(sandbox: Sandbox) -> None:
    result = run(sandbox, "preview", "dev", PULUMI_CONFIG_PASSPHRASE=None)  # type: ignore[arg-type]
    assert result.returncode == 2
    assert one_line(result).startswith("make preview: PULUMI_CONFIG_PASSPHRASE is not set")
    assert sandbox.recorded() == []


def test_an_explicitly_empty_passphrase_is_used_and_said(sandbox: Sandbox) -> None:
    result = run(sandbox, "preview", "dev", PULUMI_CONFIG_PASSPHRASE="")
    assert result.returncode == 0, result.stderr
    assert "set and empty" in result.stderr


# ---------------------------------------------------------------------------------------------------------------
# AWS first, with its own reason


@pytest.mark.parametrize(
    "reason",
    [
        'Could not connect to the endpoint URL: "https://sts.eu-central-1.amazonaws.com/"',
        'Unable to locate credentials. You can configure credentials by running "aws configure".',
    ],
)
def test_aws_failure_shows_the_aws_clis_reason_and_stops(sandbox: Sandbox, reason: str) -> None:
    result = run(sandbox, "preview", "dev", AWS_ERROR=reason)
    assert result.returncode == 1
    assert one_line(result).startswith(f"make preview: AWS is not usable: {reason} (credentials:")
    assert sandbox.pulumi_calls() == []


def test_missing_aws_cli_is_named(sandbox: Sandbox) -> None:
    (sandbox.bin / "aws").unlink()
    result = run(sandbox, "preview", "dev")
    assert result.returncode == 1
    assert "the AWS CLI is required" in one_line(result)
    assert sandbox.pulumi_calls() == []


# ---------------------------------------------------------------------------------------------------------------
# The policy pack runs with the real CLI too


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_preview_and_up_run_the_policy_pack_with_the_stacks_levels(sandbox: Sandbox, stack: str) -> None:
    for action in ("preview", "up"):
        result = run(sandbox, action, stack, CONFIRM=stack)
        assert result.returncode == 0, result.stderr
    config = f"out/{stack}/policy-pack-config.json"
    assert [call for call in sandbox.pulumi_calls() if call.split()[1] in ("preview", "up")] == [
        f"pulumi preview {with_copy(stack)} --diff --policy-pack policies --policy-pack-config {config}",
        f"pulumi up {with_copy(stack)} --policy-pack policies --policy-pack-config {config} --yes",
    ]
    assert json.loads((sandbox.project / config).read_text()) == environment_pack_config(stack)


def test_a_bad_policy_config_stops_before_pulumi(sandbox: Sandbox) -> None:
    (sandbox.project / "policies" / "config" / "dev.json").write_text('{"no-such-rule": "mandatory"}')
    result = run(sandbox, "preview", "dev")
    assert result.returncode == 2
    assert "names unknown policies: no-such-rule" in one_line(result)
    assert sandbox.pulumi_calls() == []


@pytest.mark.parametrize(
    ("failing", "line"),
    [
        ({"PULUMI_EXIT": "255"}, "make preview: pulumi preview failed for stack dev (its output is above)"),
        ({"CONFIG_SET_EXIT": "255"}, "make preview: pulumi config set failed for stack dev (its output is above)"),
        (
            {"STACK_SELECT_EXIT": "255", "PULUMI_EXIT": "255"},
            "make preview: pulumi stack init failed for stack dev (its output is above)",
        ),
    ],
)
def test_pulumi_failing_is_exit_1_with_one_line(sandbox: Sandbox, failing: dict[str, str], line: str) -> None:
    result = run(sandbox, "preview", "dev", **failing)
    assert result.returncode == 1
    assert one_line(result) == line


# ---------------------------------------------------------------------------------------------------------------
# Tracked files stay as they were: Pulumi runs with a generated, untracked copy of the stack file


def salts_in(text: str) -> list[str]:
    return [line.removeprefix("encryptionsalt: ") for line in text.splitlines() if line.startswith("encryptionsalt:")]


def git_repository(box: Sandbox) -> None:
    """The sandbox as a clone with everything committed, so that `git status` shows what a run changed."""
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.com"]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "clone"]):
        subprocess.run([*git, *command], cwd=box.project, check=True, capture_output=True)


def git_status(box: Sandbox) -> str:
    return subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"], cwd=box.project, capture_output=True, text=True, check=True
    ).stdout


def make(box: Sandbox, target: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", target],
        cwd=box.project,
        env=environment(box, env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_make_up_leaves_tracked_files_as_they_were_on_the_first_and_the_second_run(sandbox: Sandbox) -> None:
    """README's order, `make up` then `make test`: the first run creates the stack (stack init writes its salt into
    the stack file), the second finds it; neither leaves a change `git status` shows."""
    git_repository(sandbox)
    before = sandbox.stack_bytes()
    first = make(sandbox, "up", CONFIRM="dev", STACK_SELECT_EXIT="255")
    assert first.returncode == 0, first.stderr
    assert "pulumi stack init dev" in sandbox.pulumi_calls()
    assert sandbox.stack_bytes() == before
    assert git_status(sandbox) == ""
    second = make(sandbox, "up", CONFIRM="dev")
    assert second.returncode == 0, second.stderr
    assert sandbox.stack_bytes() == before
    assert git_status(sandbox) == ""
    assert "(tracked)" not in first.stdout + second.stdout


def test_the_copy_holds_the_stack_file_the_salt_and_the_address(sandbox: Sandbox) -> None:
    tracked = sandbox.stack_file()
    result = run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255")
    assert result.returncode == 0, result.stderr
    copy = sandbox.copy().read_text()
    assert salts_in(copy) == [sandbox.state_salt()]
    assert "198.51.100.7/32" in copy and "203.0.113.0/24" not in copy
    # The stack file itself, but for the address and the lines the script adds (its own comment, the salt, the
    # cluster's creator recorded at this first `up`).
    added = ("# Made by", "encryptionsalt:", CREATOR_LINE)
    made_from = [line for line in copy.splitlines() if not line.startswith(added)]
    assert "\n".join(made_from) + "\n" == tracked.replace("203.0.113.0/24", "198.51.100.7/32")
    assert salts_in(sandbox.stack_file()) == [] and "203.0.113.0/24" in sandbox.stack_file()
    assert f"Stack config: {COPY_DIR}/Pulumi.dev.yaml (untracked, made from Pulumi.dev.yaml)" in result.stdout


CREATOR_LINE = "  eks-platform:clusterCreatorArn: "


def creator_in(text: str) -> list[str]:
    return [line.removeprefix(CREATOR_LINE) for line in text.splitlines() if line.startswith(CREATOR_LINE)]


def test_the_first_up_records_the_clusters_creator_and_later_runs_keep_it(sandbox: Sandbox) -> None:
    """EKS gives only the identity that created the cluster an access entry of its own (pulumi-eks
    bootstrapClusterCreatorAdminPermissions), so the program must know the creator on every later run, whoever
    runs it (components/cluster.py clusterCreatorArn). Catches: the creator never recorded (every run takes its
    caller for the creator), recorded anew by a later run, or written into the tracked stack file."""
    before = sandbox.stack_bytes()
    first = run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255")
    assert first.returncode == 0, first.stderr
    assert creator_in(sandbox.copy().read_text()) == ["arn:aws:iam::123456789012:user/tester"]
    assert "clusterCreatorArn: arn:aws:iam::123456789012:user/tester creates the cluster" in first.stdout
    # A later run by someone else (here a preview and an up) keeps the recorded creator.
    for action in ("preview", "up"):
        later = run(sandbox, action, "dev", CONFIRM="dev", AWS_IDENTITY="arn:aws:sts::123456789012:assumed-role/ci/run")
        assert later.returncode == 0, later.stderr
        assert creator_in(sandbox.copy().read_text()) == ["arn:aws:iam::123456789012:user/tester"]
    assert sandbox.stack_bytes() == before


def test_a_creator_in_the_stack_file_wins_and_a_preview_records_none(sandbox: Sandbox) -> None:
    stack_file = sandbox.project / "Pulumi.dev.yaml"
    preview = run(sandbox, "preview", "dev", STACK_SELECT_EXIT="255")
    assert preview.returncode == 0 and creator_in(sandbox.copy().read_text()) == []
    committed = "arn:aws:iam::123456789012:role/platform-deploy"
    stack_file.write_text(stack_file.read_text().replace("config:\n", f"config:\n{CREATOR_LINE}{committed}\n", 1))
    result = run(sandbox, "up", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    assert creator_in(sandbox.copy().read_text()) == [committed]


def test_dev_placeholder_is_replaced_in_the_copy_only_and_that_is_said(sandbox: Sandbox) -> None:
    before = sandbox.stack_bytes()
    result = run(sandbox, "preview", "dev")
    assert result.returncode == 0, result.stderr
    assert f"pulumi config set {with_copy()} --path publicAccessCidrs[0] 198.51.100.7/32" in sandbox.pulumi_calls()
    assert (
        f"publicAccessCidrs: 203.0.113.0/24 -> 198.51.100.7/32 in {COPY_DIR}/Pulumi.dev.yaml only (Pulumi.dev.yaml "
        "keeps the placeholder), so that Pulumi and kubectl reach the API endpoint." in result.stdout
    )
    assert sandbox.stack_bytes() == before
    assert "198.51.100.7/32" in sandbox.copy().read_text()


def test_a_second_run_keeps_the_salt_of_the_first(sandbox: Sandbox) -> None:
    assert run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255").returncode == 0
    salt = sandbox.state_salt()
    second = run(sandbox, "up", "dev", CONFIRM="dev")
    assert second.returncode == 0, second.stderr
    assert salts_in(sandbox.copy().read_text()) == [salt]
    assert sandbox.saved_salts() == []  # Pulumi found the salt in the copy: it had none to make or look up


def test_a_lost_copy_takes_the_salt_back_from_the_stacks_state(sandbox: Sandbox) -> None:
    assert run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255").returncode == 0
    shutil.rmtree(sandbox.project / COPY_DIR)
    result = run(sandbox, "up", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    assert salts_in(sandbox.copy().read_text()) == [sandbox.state_salt()]
    assert salts_in(sandbox.stack_file()) == []


def test_an_edit_of_the_stack_file_between_runs_is_taken(sandbox: Sandbox) -> None:
    assert run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255").returncode == 0
    salt = sandbox.state_salt()
    stack_file = sandbox.project / "Pulumi.dev.yaml"
    stack_file.write_text(sandbox.stack_file().replace("demoWorkloads: true", "demoWorkloads: false"))
    edited = sandbox.stack_bytes()
    result = run(sandbox, "up", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    copy = sandbox.copy().read_text()
    assert "eks-platform:demoWorkloads: false" in copy and "demoWorkloads: true" not in copy
    assert salts_in(copy) == [salt] and "198.51.100.7/32" in copy
    assert sandbox.stack_bytes() == edited


def test_a_salt_committed_in_the_stack_file_is_the_one_used(sandbox: Sandbox) -> None:
    """A team that shares state commits the salt: stack init then uses it and writes nothing, and the copy carries
    that salt once, whatever an older copy held."""
    committed = "v1:Y29tbWl0dGVk:v1:BBBB"
    stack_file = sandbox.project / "Pulumi.dev.yaml"
    stack_file.write_text(sandbox.stack_file() + f"encryptionsalt: {committed}\n")
    before = sandbox.stack_bytes()
    (sandbox.project / COPY_DIR).mkdir()
    sandbox.copy().write_text("encryptionsalt: v1:b2xk:v1:CCCC\n")
    result = run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255")
    assert result.returncode == 0, result.stderr
    assert sandbox.state_salt() == committed
    assert salts_in(sandbox.copy().read_text()) == [committed]
    assert sandbox.stack_bytes() == before
    assert "'pulumi stack init' wrote" not in result.stdout and sandbox.saved_salts() == []


def test_a_secret_in_the_stack_file_reaches_pulumi_through_the_copy(sandbox: Sandbox) -> None:
    """`pulumi config set --secret` writes the secret (and a salt, when there is none) into the stack file; the
    checks before Pulumi read only the keys they need (offline/analyses/policy.py stack_environment), so a secret
    elsewhere does not stop the run. Catches: the environment read through stack_config, which refuses secrets."""
    secret = "config:\n  eks-platform:grafanaPassword:\n    secure: v1:ZW5jcnlwdGVk\n"
    stack_file = sandbox.project / "Pulumi.dev.yaml"
    stack_file.write_text(sandbox.stack_file().replace("config:\n", secret, 1) + "encryptionsalt: v1:Y29tbWl0dGVk:v1:BBBB\n")
    before = sandbox.stack_bytes()
    result = run(sandbox, "up", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    assert "secure: v1:ZW5jcnlwdGVk" in sandbox.copy().read_text()
    assert sandbox.stack_bytes() == before


def test_destroy_runs_with_the_copy_and_its_salt(sandbox: Sandbox) -> None:
    assert run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255").returncode == 0
    salt = sandbox.state_salt()
    before = sandbox.stack_bytes()
    result = run(sandbox, "destroy", "dev", CONFIRM="dev")
    assert result.returncode == 0, result.stderr
    assert sandbox.pulumi_calls()[-1] == f"pulumi destroy {with_copy()} --yes"
    assert salts_in(sandbox.copy().read_text()) == [salt] and sandbox.saved_salts() == []
    assert sandbox.stack_bytes() == before


def test_no_address_found_stops_before_the_stack_file_is_touched(sandbox: Sandbox) -> None:
    before = sandbox.stack_file()
    result = run(sandbox, "up", "dev", CONFIRM="dev", MY_IP="", STACK_SELECT_EXIT="255")
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith("make up: cannot find this machine's public IPv4 address (checkip.amazonaws.com: curl: (28)")
    assert "to replace the placeholder 203.0.113.0/24 in Pulumi.dev.yaml" in line
    assert sandbox.pulumi_calls() == [] and sandbox.stack_file() == before


def test_a_stack_without_the_placeholder_needs_no_address(sandbox: Sandbox) -> None:
    result = run(sandbox, "up", "prod", CONFIRM="prod", MY_IP="")
    assert result.returncode == 0, result.stderr
    assert not [call for call in sandbox.pulumi_calls() if "config set" in call]


def test_stack_init_writing_the_salt_into_the_stack_file_is_undone_and_said(sandbox: Sandbox) -> None:
    before = sandbox.stack_bytes("prod")
    result = run(sandbox, "preview", "prod", STACK_SELECT_EXIT="255")
    assert result.returncode == 0, result.stderr
    assert (
        "'pulumi stack init' wrote the stack's encryptionsalt into Pulumi.prod.yaml: moved into "
        f"{COPY_DIR}/Pulumi.prod.yaml, Pulumi.prod.yaml is as it was" in result.stdout
    )
    assert sandbox.stack_bytes("prod") == before
    assert salts_in(sandbox.copy("prod").read_text()) == [sandbox.state_salt("prod")]


# ---------------------------------------------------------------------------------------------------------------
# The pinned CLI


def test_a_failed_cli_download_says_how_to_install_by_hand(sandbox: Sandbox) -> None:
    (sandbox.bin / "pulumi").unlink()
    before = sandbox.stack_file()
    result = run(sandbox, "preview", "dev", NO_DOWNLOAD="1")
    assert result.returncode == 1
    line = one_line(result)
    assert line.startswith(
        f"make preview: could not install the Pulumi CLI {PINNED} (curl: (6) Could not resolve host: get.pulumi.com); "
        f"install it by hand: unpack pulumi-v{PINNED}-"
    )
    assert f"https://github.com/pulumi/pulumi/releases/tag/v{PINNED} so that {sandbox.home}/.pulumi/bin/pulumi exists" in line
    assert sandbox.stack_file() == before


def test_without_pulumi_the_pinned_cli_is_installed_and_used(sandbox: Sandbox) -> None:
    (sandbox.bin / "pulumi").unlink()
    result = run(sandbox, "preview", "dev")
    assert result.returncode == 0, result.stderr
    assert f"Pulumi CLI {PINNED} is in {sandbox.home}/.pulumi/bin; add it to PATH" in result.stdout
    assert sandbox.pulumi_calls()[-1].startswith(f"pinned preview {with_copy()} --diff --policy-pack policies")


def test_another_pulumi_version_on_path_is_said_and_the_pinned_one_used(sandbox: Sandbox) -> None:
    result = run(sandbox, "preview", "dev", PULUMI_FAKE_VERSION="3.100.0")
    assert result.returncode == 0, result.stderr
    pinned = sandbox.home / ".pulumi" / "versions" / PINNED / "bin" / "pulumi"
    assert f"{sandbox.bin}/pulumi is version 3.100.0, this project pins {PINNED}: using {pinned}." in result.stdout
    assert pinned.exists()
    assert sandbox.pulumi_calls()[-1].startswith(f"pinned preview {with_copy()} --diff --policy-pack policies")


def test_the_pinned_version_on_path_is_used_as_it_is(sandbox: Sandbox) -> None:
    result = run(sandbox, "preview", "dev")
    assert result.returncode == 0, result.stderr
    assert not (sandbox.home / ".pulumi").exists()
    assert not [call for call in sandbox.recorded() if "get.pulumi.com" in call]


# ---------------------------------------------------------------------------------------------------------------
# make up installs the runtime set only, after the AWS check


def test_make_up_has_no_venv_prerequisite_and_the_runtime_set_has_no_dev_tools(sandbox: Sandbox) -> None:
    for marker in (".venv/.runtime", "policies/venv/.installed"):
        (sandbox.project / marker).unlink()
    dry_up = subprocess.run(
        ["make", "--no-print-directory", "-n", "up"], cwd=sandbox.project, capture_output=True, text=True, check=True
    ).stdout
    assert dry_up.strip() == "scripts/pulumi.sh up dev"
    runtime = subprocess.run(
        ["make", "--no-print-directory", "-n", "venv-runtime"], cwd=sandbox.project, capture_output=True, text=True, check=True
    ).stdout
    assert "-r requirements.txt" in runtime and "-r policies/requirements.txt" in runtime
    assert "requirements-dev.txt" not in runtime
    dev = subprocess.run(
        ["make", "--no-print-directory", "-n", "venv"], cwd=sandbox.project, capture_output=True, text=True, check=True
    ).stdout
    assert "-r requirements-dev.txt" in dev


# ---------------------------------------------------------------------------------------------------------------
# Kubernetes upgrades: one minor up at a time, checked against the deployed stack before the CLI runs


@pytest.mark.parametrize(("deployed", "words"), [("1.33", "would jump from 1.33 to 1.35"), ("1.36", "would go down")])
def test_a_kubernetes_skip_or_downgrade_stops_before_pulumi_runs(sandbox: Sandbox, deployed: str, words: str) -> None:
    """The dev stack is configured for 1.35 (Pulumi.yaml default): from a deployed 1.33 that skips 1.34."""
    result = run(sandbox, "preview", "dev", DEPLOYED=deployed)
    assert result.returncode == 2
    assert one_line(result).startswith("upgrade-guard: refused:") and words in result.stderr
    assert not [call for call in sandbox.pulumi_calls() if " preview" in call or " up" in call]


@pytest.mark.parametrize("deployed", ["", "1.34"])
def test_a_first_deployment_or_one_minor_up_goes_ahead(sandbox: Sandbox, deployed: str) -> None:
    result = run(sandbox, "preview", "dev", DEPLOYED=deployed)
    assert result.returncode == 0, result.stderr
    assert any(call.split()[1:2] == ["preview"] for call in sandbox.pulumi_calls())


def test_the_step_is_taken_from_the_running_cluster_when_eks_upgraded_it_itself(sandbox: Sandbox) -> None:
    """With STANDARD support EKS upgrades the control plane by itself when standard support ends (EKS User Guide,
    "Cluster upgrade policy"): the stack output then lags. Stepping from the output would pass a skip."""
    ahead = run(sandbox, "preview", "dev", DEPLOYED="1.34", CLUSTER_VERSION="1.35")
    assert ahead.returncode == 0, ahead.stderr
    behind = run(sandbox, "preview", "dev", DEPLOYED="1.34", CLUSTER_VERSION="1.33")
    assert behind.returncode == 2 and "would jump from 1.33 to 1.35" in behind.stderr


def test_a_failing_stack_output_is_never_taken_for_a_first_deployment(sandbox: Sandbox) -> None:
    result = run(sandbox, "preview", "dev", OUTPUT_EXIT="255")
    assert result.returncode == 1
    assert one_line(result) == "make preview: pulumi stack output failed for stack dev (its output is above)"
    assert not [call for call in sandbox.pulumi_calls() if call.split()[1:2] == ["preview"]]


def test_an_assumed_role_is_recorded_as_its_role(sandbox: Sandbox) -> None:
    """STS names a session (assumed-role/<role>/<session>); the creator EKS knows is the IAM role behind it."""
    identity = "arn:aws:sts::123456789012:assumed-role/platform-deploy/gh-run-1"
    result = run(sandbox, "up", "dev", CONFIRM="dev", STACK_SELECT_EXIT="255", AWS_IDENTITY=identity)
    assert result.returncode == 0, result.stderr
    assert creator_in(sandbox.copy().read_text()) == ["arn:aws:iam::123456789012:role/platform-deploy"]


@pytest.mark.parametrize("cidr", ["198.51.100.0/24", "198.51.100.7/32", "192.0.2.0/24", "203.0.113.128/25"])
def test_up_refuses_a_documentation_range_in_any_stacks_allow_list(sandbox: Sandbox, cidr: str) -> None:
    """prod ships 198.51.100.0/24 as an example: deployed as is, the API admits no client once the cluster exists,
    and Pulumi is locked out of its own stack. Only dev's placeholder is replaced by the caller's address.
    Catches: the warning that let `make up STACK=prod` deploy anyway, or a check of dev's placeholder only."""
    stack_file = sandbox.project / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text().replace(OFFICE_RANGE, cidr))
    result = run(sandbox, "up", "prod", CONFIRM="prod")
    assert result.returncode == 2
    assert one_line(result) == (
        f"make up: publicAccessCidrs of stack prod holds {cidr}, a documentation range (RFC 5737) no client connects "
        "from: once the cluster exists its API would refuse Pulumi and kubectl; put your office or VPN range (or your "
        "address as <ip>/32) into Pulumi.prod.yaml"
    )
    assert sandbox.pulumi_calls() == []
    # A preview changes nothing and locks nobody out: it runs.
    assert run(sandbox, "preview", "prod").returncode == 0


def test_the_dev_placeholder_and_a_real_range_are_not_refused(sandbox: Sandbox) -> None:
    """The near misses: dev's placeholder 203.0.113.0/24 is replaced, not refused; a range next to a documentation
    one (198.51.101.0/24) is a real one."""
    assert run(sandbox, "up", "dev", CONFIRM="dev").returncode == 0
    stack_file = sandbox.project / "Pulumi.prod.yaml"
    stack_file.write_text(stack_file.read_text().replace(OFFICE_RANGE, "198.51.101.0/24"))
    assert run(sandbox, "up", "prod", CONFIRM="prod").returncode == 0


def test_up_ends_with_how_to_connect_and_the_stacks_urls(sandbox: Sandbox) -> None:
    """Catches: a deploy that ends without saying how to reach the cluster or the demo."""
    result = run(sandbox, "up", "dev", CONFIRM="dev", STACK_OUTPUT='{"httpdUrl": "http://nlb.example/httpd", "region": "x"}')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-2:] == [
        f"Connect kubectl: make kubeconfig STACK=dev, then export KUBECONFIG={sandbox.project}/out/dev/kubeconfig",
        "httpdUrl: http://nlb.example/httpd",
    ]


def test_aws_cli_version_1_is_refused_in_one_line(sandbox: Sandbox) -> None:
    """README requires the AWS CLI v2; v1 answered the identity check and deployed on. Catches: any `aws` accepted."""
    result = run(sandbox, "up", "dev", CONFIRM="dev", AWS_VERSION="aws-cli/1.33.2 Python/3.9 Linux/6")
    assert result.returncode == 1
    assert one_line(result).startswith("make up: the AWS CLI version 2 is required, found 'aws-cli/1.33.2 Python/3.9 Linux/6'")
    assert sandbox.pulumi_calls() == []
