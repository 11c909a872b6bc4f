"""Change tools: what turning one plan into another would do (plan_diff, with replacements and upgrade_rules) and
the pull-request report that renders it with the analyses' verdicts. Imports plan/ and analyses/, never a command."""
