"""The commands of DESIGN section 6, grouped by what they touch."""
