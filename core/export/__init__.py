"""Export a variant as a package for a TFLM firmware project (see package.py)."""

from core.export.package import FILES, export_package, package_name, plan_export

__all__ = ["FILES", "export_package", "package_name", "plan_export"]
