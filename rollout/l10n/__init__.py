"""The Localization Platform's backbone: catalogs, QA checks, bundles, XLIFF, four-eyes review.

The Pulumi component (components/localization.py) uploads what ``build_bundles`` returns;
``rollout validate`` and ``rollout plan`` run the go-live gate (``publish_problems``) for the
global stack, which publishes the bundles; regional stacks check only that their locales are
configured (``configured_problems``).
"""

from rollout.l10n.bundles import (
    BundleObject,
    BundleSet,
    build_bundles,
    fallback_chain,
    publish_bundles,
    publish_problems,
    required_locales,
)
from rollout.l10n.catalog import (
    SCHEMAS,
    CatalogConfig,
    Glossary,
    Review,
    SourceCatalog,
    SourceMessage,
    TranslatedMessage,
    TranslationCatalog,
    load_catalogs,
    source_hash,
)
from rollout.l10n.checks import (
    CHECKS,
    Coverage,
    Finding,
    analyse,
    check_catalogs,
    configured_problems,
    coverage,
    gate,
)
from rollout.l10n.review import record_reviews
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
    "Review",
    "SourceCatalog",
    "SourceMessage",
    "TranslatedMessage",
    "TranslationCatalog",
    "analyse",
    "build_bundles",
    "check_catalogs",
    "configured_problems",
    "coverage",
    "export_xliff",
    "fallback_chain",
    "gate",
    "import_xliff",
    "load_catalogs",
    "publish_bundles",
    "publish_problems",
    "record_reviews",
    "required_locales",
    "source_hash",
]
