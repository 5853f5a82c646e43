"""The SSH backend: students' own machines, reached over SSH as an inventory file says."""
