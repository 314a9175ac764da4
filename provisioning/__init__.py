"""Deal + agreement + inventory -> interconnection intent -> per-node changes.

Until the provisioning layer lands, brokered deals stay BROKERED through
marketplace.provisioner.HoldingProvisioner."""
