"""Pulumi ComponentResources, one logical entity per file.

Nothing here knows which engine runs it: `pulumi up` and rollout.engine build the same objects.
"""
