"""The wire protocols: thin adapters from HTTP requests to the dispatcher."""
