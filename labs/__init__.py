"""The labs halab ships, one folder per variant (plan.toml, lab.md, rubric.yaml): data, found by
name (`halab up --lab pcs`); a lab of one's own is found by its path."""
