"""The commands of docs/cli.md, grouped by what they touch."""
