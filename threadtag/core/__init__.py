"""The floor every layer imports: settings, logging, metrics, the database and Kafka
clients, retries and failures. It imports nothing of the project but threadtag.schemas."""
