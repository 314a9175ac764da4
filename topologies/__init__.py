"""Mininet topologies for the lab (Open vSwitch in userspace datapath)."""
