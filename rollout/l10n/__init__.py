"""The Localization Platform's backbone: catalogs, QA checks, bundles and XLIFF exchange.

The Pulumi component (components/localization.py) uploads what ``build_bundles`` returns;
``rollout validate`` and ``rollout plan`` call ``gate`` for each region's locales.
"""

from rollout.l10n.bundles import BundleObject, BundleSet, build_bundles
from rollout.l10n.catalog import (
    SCHEMAS,
    CatalogConfig,
    Glossary,
    SourceCatalog,
    SourceMessage,
    TranslatedMessage,
    TranslationCatalog,
    load_catalogs,
    source_hash,
)
from rollout.l10n.checks import CHECKS, Coverage, Finding, check_catalogs, coverage, gate
from rollout.l10n.xliff import ImportResult, export_xliff, import_xliff

__all__ = [
    "CHECKS",
    "SCHEMAS",
    "BundleObject",
    "BundleSet",
    "CatalogConfig",
    "Coverage",
    "Finding",
    "Glossary",
    "ImportResult",
    "SourceCatalog",
    "SourceMessage",
    "TranslatedMessage",
    "TranslationCatalog",
    "build_bundles",
    "check_catalogs",
    "coverage",
    "export_xliff",
    "gate",
    "import_xliff",
    "load_catalogs",
    "source_hash",
]
