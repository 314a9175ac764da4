"""The ixchange process: the command line and, with the provisioning issue, the os-ken
OpenFlow controller apps wired to the exchange."""
