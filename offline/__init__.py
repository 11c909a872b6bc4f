"""The offline preview: the program's dry run on the SDK's mock engine, without credentials or the CLI."""
