"""Live captions: the WebSocket consumers and what a speaking connection needs."""
