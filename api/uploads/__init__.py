"""Conversion files uploaded through GraphQL: the mutation that takes one, and its job read back."""
