"""kvaudit: compliance audit and posture scanner for Azure Key Vault and Managed HSM."""

__version__ = "0.1.0"
