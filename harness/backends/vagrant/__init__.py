"""The Vagrant backend: node1, node2 and the router as VMs (libvirt here, VirtualBox on a laptop)."""
