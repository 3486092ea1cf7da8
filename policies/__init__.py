"""Policy as code: the rules (``policies.rules``) and their CrossGuard wrapping."""
