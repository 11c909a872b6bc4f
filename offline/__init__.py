"""The offline toolkit: the program's dry run on the SDK's mock engine, and what the team reads from it, without
credentials or the CLI.

Data flows one way, down this list: each part imports only the parts above it, never one below.

    plan/      the stack's files read as the CLI reads them -> the program on the mock engine -> plan.json and the
               plan object (PlanQuery), built once
    analyses/  functions of the plan object, each with its own data: policy, lifecycle, cost (prices), deploy time
               (durations), graph, manifests
    change/    two plans compared: the diff, replacement rules, upgrade rules, the pull-request report
    commands   preview, policy_run, policy_config, cost, diff, lifecycle, upgrade_guard (`python -m offline.<name>`):
               parse arguments, build or read the plan, run analyses, write reports (reports.py), map errors to exits

plan_build.py is the one file `make diff` runs inside every tree it compares, by path: it never moves.
"""
