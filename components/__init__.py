"""Pulumi ComponentResources, one logical entity per file. Nothing here knows which engine runs it."""
