"""The device profiles the window offers (defined in core: the command line's search uses them too)."""

from core.devices import DEVICES, KB, Device

__all__ = ["DEVICES", "KB", "Device"]
