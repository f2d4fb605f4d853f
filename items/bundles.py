"""Temporary re-export, removed when callers move: the bundle code now lives in items.importing (reading
the `bundles` section), items.services (bundle_import, bundle_publish) and items.selectors (the guide's
reads and the export)."""

from items.selectors import bundle_export, bundle_get_published

__all__ = ["bundle_export", "bundle_get_published"]
