"""Infrastructure-as-code sources: ARM, Bicep and Terraform turned into the inventory."""
