"""The emulator's own control plane, apart from the SoftLayer API."""
