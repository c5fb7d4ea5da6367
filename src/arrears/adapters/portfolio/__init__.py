"""The canonical portfolio format: its schema, reader/validator, writer and source adapters."""
