"""Versioned schema migrations, applied in numeric order by ``webapp.schema``."""
