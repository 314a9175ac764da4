"""Deal + agreement + inventory -> interconnection intent -> per-node changes.

inventory.py (the fabric from a topology file) and intent.py (the pure compiler: path with
capacity admission, VLANs, meters, per-node changes) are in; the drivers that apply the
changes (os-ken OpenFlow, NAPALM) and the deal lifecycle are next. Until they land,
brokered deals stay BROKERED through marketplace.provisioner.HoldingProvisioner."""
