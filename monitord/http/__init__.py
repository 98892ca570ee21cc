"""The dashboard's HTTP side: the REST API, the single-page app and, later, the WebSocket."""
