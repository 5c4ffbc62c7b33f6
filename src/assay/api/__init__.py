"""HTTP: Label Studio compatible REST API and assay's own endpoints; thin over services."""
