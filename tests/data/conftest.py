"""The own-data fixtures, shared by every test in this folder."""

from owndata_helpers import mixed_folder, table_csv  # noqa: F401  (fixtures: pytest finds them here)
