"""The commands of the README's CLI conventions, grouped by what they touch."""
