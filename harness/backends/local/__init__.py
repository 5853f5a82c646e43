"""The default backend: nodes as systemd-nspawn system containers, networks in namespaces."""
