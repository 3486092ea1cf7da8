"""Everything of the Demo Bank rollout that is not a cloud resource.

config (the YAML model), engine (the offline plan), shards, l10n, render and cli.
"""
