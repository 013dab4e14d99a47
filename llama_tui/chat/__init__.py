"""Chatting without Textual: the conversation tree rules, the request, streaming an answer into the
store, and watching the server."""
