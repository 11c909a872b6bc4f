"""The plan: stack files read as the CLI reads them (stack_files), the program run on the mock engine (engine,
build), plan.json (plan_file) and the one query object over it (query). Imports nothing else of the toolkit."""
